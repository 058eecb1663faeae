package service

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// TestLeaseCarriesProductMessages: the leases of a product with message
// overrides carry them, signed (activation and a renewal), a change of
// them reaches the next lease, and a product without any signs leases
// without (version 1).
func TestLeaseCarriesProductMessages(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	p := store.Product{Code: "1AJS2", Name: "Lite"}
	if err := p.SetMessage("ru", "refused.revoked", "Ключ отозван поставщиком."); err != nil {
		t.Fatal(err)
	}
	if err := p.SetMessage("he", "no-seat", "אין מקום פנוי."); err != nil {
		t.Fatal(err)
	}
	if err := s.st.AddProduct(p); err != nil {
		t.Fatal(err)
	}
	key, _ := mintOne(t, s, Spec{Seats: 1})
	inst, fp := newInstall(t), testFingerprint()
	keys := []*composite.PublicKey{s.keys.LeaseKey.Public()}
	a, err := s.Activate(&wire.ActivateRequest{Key: key, Fingerprint: fp}, &inst)
	if err != nil {
		t.Fatal(err)
	}
	lease, err := wire.VerifyLease(a.Lease, keys)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := wire.ParseLeaseMessages(lease.Messages)
	if err != nil {
		t.Fatal(err)
	}
	want := []wire.LeaseMessage{{Lang: "he", ID: "no-seat", Text: "אין מקום פנוי."}, {Lang: "ru", ID: "refused.revoked", Text: "Ключ отозван поставщиком."}}
	if !reflect.DeepEqual(ms, want) {
		t.Fatalf("activation lease messages = %q, want %q", ms, want)
	}

	// The publisher removes one: the next lease signed has only the other.
	p.UnsetMessage("he", "no-seat")
	if err := s.st.UpdateProduct(p); err != nil {
		t.Fatal(err)
	}
	// (A lease is signed again past half its life, or 10 minutes after the
	// last when asked: ValidateSlow is that signing.)
	req := wire.ValidateRequest{LicenseID: a.LicenseID, Fingerprint: fp, Counter: 1, Flags: wire.ValidateWantLease}
	if _, _, err := s.Validate(&req, &inst, time.Now().Unix()); err != nil {
		t.Fatal(err)
	}
	v, err := s.ValidateSlow(&req, &inst)
	if err != nil {
		t.Fatal(err)
	}
	if lease, err = wire.VerifyLease(v.Lease, keys); err != nil {
		t.Fatal(err)
	}
	if ms, err = wire.ParseLeaseMessages(lease.Messages); err != nil || !reflect.DeepEqual(ms, want[1:]) {
		t.Fatalf("renewed lease messages = %q, %v; want %q", ms, err, want[1:])
	}

	// No overrides left: no messages in the lease.
	p.UnsetMessage("ru", "refused.revoked")
	if p.Messages != nil {
		t.Fatalf("messages left after removing both: %v", p.Messages)
	}
	if err := s.st.UpdateProduct(p); err != nil {
		t.Fatal(err)
	}
	req.Counter = 2
	if _, _, err := s.Validate(&req, &inst, time.Now().Unix()); err != nil {
		t.Fatal(err)
	}
	if v, err = s.ValidateSlow(&req, &inst); err != nil {
		t.Fatal(err)
	}
	if lease, err = wire.VerifyLease(v.Lease, keys); err != nil || lease.Messages != nil {
		t.Fatalf("lease of a product without messages: %d bytes of messages, %v", len(lease.Messages), err)
	}
}

// TestProductMessagesRefused: the store refuses overrides a client could
// not use, with a sentence that says what to change.
func TestProductMessagesRefused(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	for _, c := range []struct {
		name string
		msgs map[string]map[string]string
	}{
		{"unknown id", map[string]map[string]string{"ru": {"no-such": "x"}}},
		{"bad language", map[string]map[string]string{"rus": {"no-seat": "x"}}},
		{"foreign placeholder", map[string]map[string]string{"ru": {"no-seat": "{days}"}}},
		{"bidi mark", map[string]map[string]string{"he": {"no-seat": "א\u200Fב"}}},
		{"empty language", map[string]map[string]string{"he": {}}},
	} {
		p := store.Product{Code: "1AJS3", Name: "Basic", Messages: c.msgs}
		if err := s.st.AddProduct(p); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: AddProduct = %v, want ErrInvalid", c.name, err)
		}
	}
	// Too large for a lease: the sentence gives the size.
	p := store.Product{Code: "1AJS3", Name: "Basic"}
	var err error
	for _, lang := range []string{"aa", "ab", "ac", "ad", "ae", "af", "ag"} {
		text := make([]byte, 1000)
		for i := range text {
			text[i] = 'x'
		}
		if err = p.SetMessage(lang, "no-seat", string(text)); err != nil {
			break
		}
	}
	if !errors.Is(err, store.ErrInvalid) || !errors.Is(err, wire.ErrInvalidField) {
		t.Fatalf("overrides past the lease's room: %v", err)
	}
	if len(p.Messages) != 6 {
		t.Fatalf("a refused SetMessage changed the product: %d languages", len(p.Messages))
	}
}
