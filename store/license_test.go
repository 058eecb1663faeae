package store

import (
	"testing"
	"time"
)

func TestTermAndExpiry(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	l := License{Term: Term{Kind: TermYears, Value: 1}}
	if l.Expiry() != 0 {
		t.Fatal("a term that has not started has no expiry")
	}
	l.Activated = start.Unix()
	if got, want := l.Expiry(), start.AddDate(1, 0, 0).Unix(); got != want {
		t.Fatalf("1 year: %d, want %d", got, want)
	}
	l.AbsExpiry = start.AddDate(0, 6, 0).Unix()
	if got := l.Expiry(); got != l.AbsExpiry {
		t.Fatalf("an earlier absolute expiry wins: %d", got)
	}
	l = License{Term: Term{Kind: TermPerpetual}, Activated: start.Unix()}
	if l.Expiry() != 0 || l.Expired(start.AddDate(100, 0, 0).Unix()) {
		t.Fatal("perpetual licenses do not expire")
	}
	l = License{Term: Term{Kind: TermDays, Value: 14}, Activated: start.Unix()}
	if !l.Expired(start.AddDate(0, 0, 14).Unix()) || l.Expired(start.AddDate(0, 0, 13).Unix()) {
		t.Fatal("a 14-day trial ends after 14 days")
	}
}
