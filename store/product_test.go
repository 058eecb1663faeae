package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/wire"
)

// TestProductSeatBounds: a catalogue entry is refused, with
// StatusBadRequest and the allowed range in its message, when its default
// seats exceed its maximum, when its maximum exceeds DefaultMaxSeats
// without being a site license, or SiteSeatCeiling at all; a refused entry
// is not stored.
func TestProductSeatBounds(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	base := Product{Code: "1AJS9", Name: "test", Term: Term{Kind: TermYears, Value: 1}}
	for _, c := range []struct {
		name string
		edit func(p *Product)
		want string // what the message must name; "" when accepted
	}{
		{"no maximum: 100 seats", func(p *Product) { p.Seats = 100 }, ""},
		{"no maximum: 101 seats", func(p *Product) { p.Seats = 101 }, "1..100"},
		{"seats above the maximum", func(p *Product) { p.Seats, p.MaxSeats = 11, 10 }, "1..10"},
		{"4,294,967,295 seats", func(p *Product) { p.Seats = ^uint32(0) }, "1..100"},
		{"maximum 101 without a site license", func(p *Product) { p.MaxSeats = 101 }, "1 to 100"},
		{"site license without a maximum", func(p *Product) { p.SiteLicense = true }, "1 to 100000"},
		{"site license above the ceiling", func(p *Product) { p.SiteLicense, p.MaxSeats = true, SiteSeatCeiling+1 }, "100000"},
		{"site license at the ceiling", func(p *Product) { p.SiteLicense, p.MaxSeats, p.Seats = true, SiteSeatCeiling, 500 }, ""},
		{"site license, seats above its maximum", func(p *Product) { p.SiteLicense, p.MaxSeats, p.Seats = true, 5000, 5001 }, "1..5000"},
	} {
		p := base
		c.edit(&p)
		err := s.PutProduct(p)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v, want it accepted", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalid) || wire.StatusOf(err) != wire.StatusBadRequest || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInvalid, BAD_REQUEST and the range %s", c.name, err, c.want)
		}
	}
	// Only the accepted entries were written, the last one last.
	got, err := s.ProductByCode("1AJS9")
	if err != nil || got.MaxSeats != SiteSeatCeiling || !got.SiteLicense || got.Seats != 500 {
		t.Fatalf("ProductByCode = %+v, %v; want the site license at the ceiling", got, err)
	}
}

// TestProductRecordWithoutMaxSeats: a product record written before the
// seat bounds existed (no max_seats, no site_license) still reads, as a
// product of at most DefaultMaxSeats seats.
func TestProductRecordWithoutMaxSeats(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	old := `{"code":"1AJS3","name":"VSE 2.1 Lite for Windows, 10 clients, 1 year","platform":"windows",` +
		`"term":{"kind":1,"value":1},"seats":10,"entitlements":["scan"],"policy":{"level":2,"lease_seconds":604800}}`
	if err := s.db.Set(productKey("1AJS3"), []byte(old), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	p, err := s.ProductByCode("1AJS3")
	if err != nil {
		t.Fatalf("ProductByCode of an old record: %v", err)
	}
	if p.Seats != 10 || p.MaxSeats != 0 || p.SiteLicense || p.SeatLimit() != DefaultMaxSeats {
		t.Fatalf("old record read as %+v (limit %d); want 10 seats, at most %d", p, p.SeatLimit(), DefaultMaxSeats)
	}
	if err := p.Check(); err != nil {
		t.Fatalf("an old record no longer passes Check: %v", err)
	}
	list, err := s.Products()
	if err != nil || len(list) != 1 || list[0].SeatLimit() != DefaultMaxSeats {
		t.Fatalf("Products = %+v, %v", list, err)
	}
}
