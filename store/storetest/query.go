package storetest

import (
	"crypto/rand"
	"errors"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/store"
)

// queryCases are the cases of Backend.Licenses, the operator's list.
var queryCases = []testCase{
	{"LicensesFiltered", testLicensesFiltered},
	{"LicensesPaged", testLicensesPaged},
	{"LicensesByIDPrefix", testLicensesByIDPrefix},
}

// ids returns the ids of ls, sorted.
func ids(ls []store.License) []store.LicenseID {
	out := make([]store.LicenseID, len(ls))
	for i := range ls {
		out[i] = ls[i].ID
	}
	slices.SortFunc(out, func(x, y store.LicenseID) int { return slices.Compare(x[:], y[:]) })
	return out
}

// listAll pages through q with limit and returns every license listed,
// failing on one listed twice.
func listAll(t *testing.T, b store.Backend, q store.LicenseQuery) []store.License {
	t.Helper()
	var all []store.License
	seen := map[store.LicenseID]bool{}
	for pages := 0; ; pages++ {
		page, next, err := b.Licenses(q)
		if err != nil {
			t.Fatalf("Licenses(%+v): %v", q, err)
		}
		if q.Limit > 0 && len(page) > q.Limit {
			t.Fatalf("a page of %d licenses; the limit is %d", len(page), q.Limit)
		}
		for _, l := range page {
			if seen[l.ID] {
				t.Fatalf("license %x listed twice", l.ID[:4])
			}
			seen[l.ID] = true
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		if len(page) == 0 || pages > 1000 {
			t.Fatalf("an empty page, or no end: next %q after %d pages", next, pages)
		}
		q.After = next
	}
}

// testLicensesFiltered: each filter selects exactly the licenses it
// names, and filters combine.
func testLicensesFiltered(t *testing.T, b store.Backend) {
	mk := func(shop, order, product string, state store.State, absExpiry int64) store.License {
		l := NewLicense(t, 1)
		l.Shop, l.Order, l.Product, l.State, l.AbsExpiry = shop, order, product, state, absExpiry
		return l
	}
	ls := []store.License{
		mk("acme", "A-1", "1AJS2", store.StateActive, 0),
		mk("acme", "A-1", "1AJS2", store.StateSuspended, 2000),
		mk("acme", "A-2", "2BKT3", store.StateActive, 1000),
		mk("bolt", "A-1", "1AJS2", store.StateRevoked, 0),
		mk("", "", "2BKT3", store.StateActive, 3000),
	}
	perpetual := mk("", "", "2BKT3", store.StateActive, 0)
	perpetual.Term = store.Term{Kind: store.TermPerpetual}
	ls = append(ls, perpetual)
	create(t, b, ls...)
	err := b.Update(ls[2].ID, nil, func(tx *store.Tx) error {
		sg, err := tx.Sightings()
		if err != nil {
			return err
		}
		sg.FlaggedAt, sg.Reason = 100, "shared"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	suspended, revoked := store.StateSuspended, store.StateRevoked
	for _, c := range []struct {
		name string
		q    store.LicenseQuery
		want []store.License
	}{
		{"all", store.LicenseQuery{}, ls},
		{"shop", store.LicenseQuery{Shop: "acme"}, ls[:3]},
		{"shop and order", store.LicenseQuery{Shop: "acme", Order: "A-1"}, ls[:2]},
		{"order of any shop", store.LicenseQuery{Order: "A-1"}, []store.License{ls[0], ls[1], ls[3]}},
		{"product", store.LicenseQuery{Product: "2BKT3"}, []store.License{ls[2], ls[4], ls[5]}},
		{"state", store.LicenseQuery{State: &suspended}, ls[1:2]},
		{"revoked of a shop", store.LicenseQuery{Shop: "acme", State: &revoked}, nil},
		{"flagged", store.LicenseQuery{Flagged: true}, ls[2:3]},
		{"expiring before", store.LicenseQuery{ExpiringBefore: 2500}, ls[1:3]},
		{"expiring of a product", store.LicenseQuery{ExpiringBefore: 5000, Product: "2BKT3"}, []store.License{ls[2], ls[4]}},
	} {
		got := listAll(t, b, c.q)
		if !slices.Equal(ids(got), ids(c.want)) {
			t.Errorf("%s: listed %d licenses, want %d", c.name, len(got), len(c.want))
		}
	}
	if _, _, err := b.Licenses(store.LicenseQuery{After: "not a cursor"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Licenses with a cursor the backend did not make: %v, want ErrInvalid", err)
	}
}

// testLicensesPaged: pages of any size cover the selection once, the last
// page says so (next empty), also when it is full.
func testLicensesPaged(t *testing.T, b store.Backend) {
	var ls []store.License
	for range 9 {
		ls = append(ls, NewLicense(t, 1))
	}
	create(t, b, ls...)
	for _, limit := range []int{1, 2, 3, 4, 9, 10, 0} {
		got := listAll(t, b, store.LicenseQuery{Limit: limit})
		if !slices.Equal(ids(got), ids(ls)) {
			t.Errorf("limit %d: listed %d licenses, want all %d", limit, len(got), len(ls))
		}
	}
	page, next, err := b.Licenses(store.LicenseQuery{Limit: 9})
	if err != nil || len(page) != 9 || next != "" {
		t.Errorf("a full last page: %d licenses, next %q, %v; want 9 and no next", len(page), next, err)
	}
}

// testLicensesByIDPrefix: a 4-byte prefix of an id finds its license,
// derived or random (older licenses), and a prefix two ids share finds
// both.
func testLicensesByIDPrefix(t *testing.T, b store.Backend) {
	derived := NewLicense(t, 1)
	random := NewLicense(t, 1)
	rand.Read(random.ID[:])
	twin := NewLicense(t, 1)
	rand.Read(twin.ID[4:])
	copy(twin.ID[:4], random.ID[:4])
	create(t, b, derived, random, twin)
	for _, c := range []struct {
		prefix []byte
		want   []store.License
	}{
		{derived.ID[:4], []store.License{derived}},
		{derived.ID[:], []store.License{derived}},
		{random.ID[:4], []store.License{random, twin}},
		{random.ID[:], []store.License{random}},
		{twin.ID[:8], []store.License{twin}},
	} {
		got := listAll(t, b, store.LicenseQuery{IDPrefix: c.prefix, Limit: 1})
		if !slices.Equal(ids(got), ids(c.want)) {
			t.Errorf("prefix %x: listed %d licenses, want %d", c.prefix, len(got), len(c.want))
		}
	}
	var none [4]byte
	copy(none[:], derived.ID[:4])
	none[3] ^= 0xff
	if got := listAll(t, b, store.LicenseQuery{IDPrefix: none[:]}); len(got) != 0 && got[0].ID == derived.ID {
		t.Errorf("prefix %x found license %x", none, derived.ID[:4])
	}
}
