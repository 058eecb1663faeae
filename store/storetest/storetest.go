// Package storetest is the conformance suite of store.Backend: every
// backend runs it from its own tests (Run), each case on a backend of its
// own, so that the Store and the gateway can count on the contract
// whatever holds the data. It also has the helpers the store's tests
// share (NewLicense, Install, Fingerprint, Activate).
package storetest

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// Open returns a new, empty backend for one test case. The suite closes it
// when the case ends (Close is safe to call again).
type Open func(t *testing.T) store.Backend

type testCase struct {
	name string
	run  func(t *testing.T, b store.Backend)
}

// Run runs every case of the contract on backends made by open, each in
// its own subtest and in parallel.
func Run(t *testing.T, open Open) {
	var cases []testCase
	cases = append(cases, licenseCases...)
	cases = append(cases, shopCases...)
	cases = append(cases, cacheCases...)
	cases = append(cases, queryCases...)
	cases = append(cases, eventCases...)
	cases = append(cases, trialCases...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := open(t)
			t.Cleanup(func() { b.Close() })
			c.run(t, b)
		})
	}
}

// ErrNoSeats is what Activate's function returns when the license has no
// free seat.
var ErrNoSeats = errors.New("no seats")

// NewLicense returns a new license of seats seats with a random key hash
// and the id derived from it (store.IDFor).
func NewLicense(t testing.TB, seats uint32) store.License {
	t.Helper()
	var l store.License
	rand.Read(l.KeyHash[:])
	l.ID = store.IDFor(l.KeyHash)
	l.Product = "1AJS2"
	l.Seats = seats
	l.Term = store.Term{Kind: store.TermYears, Value: 1}
	l.Policy = store.Policy{Level: 1, LeaseSeconds: 86400}
	l.Created = time.Now().Unix()
	return l
}

// Install returns the i-th install id of a test.
func Install(i int) store.InstallID {
	return sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
}

// Fingerprint returns the i-th machine fingerprint of a test.
func Fingerprint(i int) wire.Fingerprint {
	var f wire.Fingerprint
	f.N = 2
	f.C[0].Kind, f.C[1].Kind = wire.KindMachineID, wire.KindMAC
	f.C[0].Hash[0], f.C[0].Hash[1] = byte(i), byte(i>>8)|0x80
	f.C[1].Hash[0] = 1
	return f
}

// Activate returns the function of an Update that activates install in
// (the i-th of the test) with the seat rule the gateway applies, reduced
// to its core: ErrNoSeats when every seat is taken.
func Activate(in store.InstallID, i int) func(tx *store.Tx) error {
	return func(tx *store.Tx) error {
		if _, ok := tx.Activation(in); ok {
			return nil
		}
		if uint32(len(tx.Activations)) >= tx.License.Seats {
			return ErrNoSeats
		}
		if tx.License.Activated == 0 {
			tx.License.Activated = tx.Now.Unix()
		}
		tx.PutActivation(store.Activation{Install: in, Fingerprint: Fingerprint(i), Hostname: "host", Created: tx.Now.Unix()})
		return nil
	}
}

// create writes ls, or fails the test.
func create(t *testing.T, b store.Backend, ls ...store.License) {
	t.Helper()
	if err := b.CreateLicenses(ls, nil); err != nil {
		t.Fatalf("CreateLicenses: %v", err)
	}
}
