package pebblestore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/storetest"
	"github.com/tollgate/tollgate/wire"
)

// jsonLicenseV1 is a license record as version 1 wrote it (JSON).
func jsonLicenseV1(t testing.TB, l *store.License) []byte {
	b, err := json.Marshal(licenseRecord{V: recordVersion, License: l})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonActivationV1 is an activation record as version 1 wrote it (JSON).
func jsonActivationV1(t testing.TB, a *store.Activation) []byte {
	b, err := json.Marshal(activationRecord{V: recordVersion, FP: a.Fingerprint.Append(nil), Activation: a})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeLicense: a license record read from disk (binary, or JSON as
// version 1 wrote it) either decodes or is store.ErrCorrupt, never a panic; what
// decodes encodes back to the same license and activation count.
func FuzzDecodeLicense(f *testing.F) {
	l := storetest.NewLicense(f, 3)
	l.Entitlements = []string{"reports", "cloud"}
	l.Bundle = []string{"2BKT3"}
	l.AbsExpiry = 1900000000
	l.Shop, l.Order = "shop-1", "order-77"
	for _, acts := range []int{0, 3} {
		good, err := encodeLicense(&l, acts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(good)
	}
	f.Add(jsonLicenseV1(f, &l))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`{"v":1,"Seats":-1}`))
	f.Add([]byte(`null`))
	f.Add([]byte{recordVersionV2})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, acts, err := decodeLicenseActs(b)
		if err != nil {
			return
		}
		if acts == unknownActs {
			acts = 0
		}
		again, err := encodeLicense(&l, acts)
		if err != nil {
			t.Fatalf("decoded license does not encode: %v", err)
		}
		l2, acts2, err := decodeLicenseActs(again)
		if err != nil {
			t.Fatalf("re-encoded license does not decode: %v", err)
		}
		if !reflect.DeepEqual(l, l2) || acts != acts2 {
			t.Fatalf("round trip changed the license:\n%+v %d\n%+v %d", l, acts, l2, acts2)
		}
	})
}

// FuzzDecodeActivation: the same for activation records.
func FuzzDecodeActivation(f *testing.F) {
	a := store.Activation{Install: storetest.Install(1), Fingerprint: storetest.Fingerprint(1), Hostname: "desk-7", Created: 1700000000, LastSeen: 1700000100,
		Lease: []byte("signed lease bytes"), LeaseIssued: 1700000000, LeaseExpiry: 1700600000, Counter: 9}
	good, err := encodeActivation(&a)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(activationV2(&a))
	f.Add(jsonActivationV1(f, &a))
	f.Add([]byte(`{"v":1,"fp":"AA=="}`))
	f.Add([]byte(`{"v":1,"fp":null}`))
	f.Add([]byte{recordVersionV2})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeActivation(b)
		if err != nil {
			return
		}
		again, err := encodeActivation(&a)
		if err != nil {
			t.Fatalf("decoded activation does not encode: %v", err)
		}
		a2, err := decodeActivation(again)
		if err != nil {
			t.Fatalf("re-encoded activation does not decode: %v", err)
		}
		if !reflect.DeepEqual(a, a2) {
			t.Fatalf("round trip changed the activation:\n%+v\n%+v", a, a2)
		}
	})
}

// FuzzDecodeOrder: the same for order records.
func FuzzDecodeOrder(f *testing.F) {
	o := store.Order{Shop: "shop-1", ID: "order-77", Request: []byte("canonical order"), Sealed: []byte("sealed keys"), Count: 2, Product: "1AJS2", Created: 1700000000}
	good, err := appendOrderV2(nil, &o)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	js, _ := json.Marshal(o)
	f.Add(js)
	f.Add([]byte{recordVersionV2, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := decodeOrder(b)
		if err != nil {
			return
		}
		again, err := appendOrderV2(nil, &o)
		if err != nil {
			// A JSON order may hold what the binary bounds refuse
			// (a negative count); it is never written back.
			return
		}
		o2, err := decodeOrder(again)
		if err != nil {
			t.Fatalf("re-encoded order does not decode: %v", err)
		}
		if !reflect.DeepEqual(o, o2) {
			t.Fatalf("round trip changed the order:\n%+v\n%+v", o, o2)
		}
	})
}

func FuzzDecodeSightings(f *testing.F) {
	s := store.Sightings{FlaggedAt: 1700000000, Reason: "shared", List: []store.Sighting{{Kind: store.SightMachine, Hash: 1, Last: 2}, {Kind: store.SightNetwork, Hash: 3, Last: 4}}}
	good, err := appendSightings(nil, &s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{recordVersionV2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseSightings(b)
		if err != nil {
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("refusal not store.ErrCorrupt: %v", err)
			}
			return
		}
		again, err := appendSightings(nil, &s)
		if err != nil {
			t.Fatalf("a parsed record does not encode: %v", err)
		}
		s2, err := parseSightings(again)
		if err != nil || !reflect.DeepEqual(s, s2) {
			t.Fatalf("round trip changed the sightings: %+v, %+v, %v", s, s2, err)
		}
	})
}

// activationV2 encodes a as gateways before version 3 did (with its lease,
// without flags).
func activationV2(a *store.Activation) []byte {
	b := []byte{recordVersionV2}
	b = append(b, a.License[:]...)
	b = append(b, a.Install[:]...)
	b = a.Fingerprint.Append(b)
	b = appendStr(b, a.Hostname)
	b = appendStr(b, a.AppVersion)
	b = binary.AppendVarint(b, a.Created)
	b = binary.AppendVarint(b, a.LastSeen)
	b = binary.AppendUvarint(b, a.Counter)
	b = appendBytes(b, a.Lease)
	b = binary.AppendVarint(b, a.LeaseIssued)
	return binary.AppendVarint(b, a.LeaseExpiry)
}

// TestActivationVersions: a version 2 record reads as not private;
// version 3 keeps the flag and refuses unknown ones.
func TestActivationVersions(t *testing.T) {
	t.Parallel()
	var a store.Activation
	a.Install[0] = 7
	a.Fingerprint.N = 2
	a.Fingerprint.C[0] = wire.FPComponent{Kind: wire.KindMachineID, Hash: [8]byte{1}}
	a.Fingerprint.C[1] = wire.FPComponent{Kind: wire.KindMAC, Hash: [8]byte{2}}
	a.Lease, a.LeaseIssued, a.LeaseExpiry, a.Counter = []byte("old lease"), 10, 20, 3
	old, err := decodeActivation(activationV2(&a))
	if err != nil || string(old.Lease) != "old lease" || old.Private || old.Counter != 3 || old.LeaseExpiry != 20 {
		t.Fatalf("version 2: %+v, %v", old, err)
	}
	a.Private = true
	rec, err := encodeActivation(&a)
	if err != nil {
		t.Fatal(err)
	}
	if rec[0] != recordVersionV3 {
		t.Fatalf("version 3 record %x has the wrong version", rec)
	}
	back, err := decodeActivation(rec)
	if err != nil || !back.Private || string(back.Lease) != "old lease" || back.LeaseIssued != 10 {
		t.Fatalf("version 3: %+v, %v", back, err)
	}
	rec[1] |= 0x80
	if _, err := decodeActivation(rec); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("unknown flag: %v, want ErrCorrupt", err)
	}
}
