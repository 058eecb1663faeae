package service

import (
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
)

// TestRenewActivatedShowsEndDate: renewing an activated 1-year license by
// 6 months moves its end 6 months on, and TermText says that end date
// (the record's term is perpetual, bounded by the absolute expiry), not
// "perpetual".
func TestRenewActivatedShowsEndDate(t *testing.T) {
	start := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	l := store.License{Term: store.Term{Kind: store.TermYears, Value: 1}, Activated: start.Unix()}
	if got := TermText(&l); got != "1 year(s) from 2026-01-10T12:00:00Z" {
		t.Fatalf("TermText before = %q", got)
	}
	if err := renew(&l, store.Term{Kind: store.TermMonths, Value: 6}, start.AddDate(0, 3, 0).Unix()); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2027, 7, 10, 12, 0, 0, 0, time.UTC)
	if l.Expiry() != want.Unix() {
		t.Fatalf("Expiry after renewal = %v, want %v", time.Unix(l.Expiry(), 0).UTC(), want)
	}
	if got := TermText(&l); got != "until 2027-07-10T12:00:00Z" || strings.Contains(got, "perpetual") {
		t.Fatalf("TermText after renewal = %q, want the new end date", got)
	}
	if got := TermText(&store.License{Term: store.Term{Kind: store.TermYears, Value: 1}}); got != "1 year(s) from first activation" {
		t.Fatalf("TermText of a license never activated = %q", got)
	}
}
