package store

import (
	"encoding/json"
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

// TestTermJSON: a term's kind is written by name, and read by name or by
// the number records written before the names (a product stored by an
// earlier version).
func TestTermJSON(t *testing.T) {
	b, err := json.Marshal(Term{Kind: TermMonths, Value: 6})
	if err != nil || string(b) != `{"kind":"months","value":6}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	for in, want := range map[string]Term{
		`{"kind":"months","value":6}`: {Kind: TermMonths, Value: 6},
		`{"kind":"perpetual"}`:        {Kind: TermPerpetual},
		`{"kind":1,"value":1}`:        {Kind: TermYears, Value: 1},
		`{"kind":4,"value":30}`:       {Kind: TermDays, Value: 30},
	} {
		var got Term
		if err := json.Unmarshal([]byte(in), &got); err != nil || got != want {
			t.Errorf("Unmarshal(%s) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{`{"kind":"weeks","value":2}`, `{"kind":5}`, `{"kind":-1}`, `{"value":1}`, `{"kind":true}`, `{"kind":"years","value":70000}`} {
		var got Term
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("Unmarshal(%s) = %+v, want an error", in, got)
		}
	}
}
