package store

import (
	"reflect"
	"testing"

	"github.com/tollgate/tollgate/wire"
)

func testTrial() Trial {
	var fp wire.Fingerprint
	fp.N = 2
	fp.C[0].Kind, fp.C[1].Kind = wire.KindMachineID, wire.KindMAC
	fp.C[0].Hash[0], fp.C[1].Hash[0] = 1, 2
	return Trial{Product: "1CJS2", Install: InstallID{1}, License: LicenseID{2}, Fingerprint: fp, Hostname: "pc", Started: 100, Ends: 200}
}

func TestTrialRecord(t *testing.T) {
	tr := testTrial()
	b, err := EncodeTrial(&tr)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeTrial(b); err != nil || !reflect.DeepEqual(got, tr) {
		t.Fatalf("DecodeTrial(EncodeTrial) = %+v, %v", got, err)
	}
	bad := tr
	bad.Ends = bad.Started
	if _, err := EncodeTrial(&bad); err == nil {
		t.Fatal("EncodeTrial of a trial that ends as it starts: no error")
	}
	for _, rec := range []string{``, `{}`, `{"product":"1CJS2","install":"01","license":"02","fingerprint":"00","started":1,"ends":2}`, `[]`} {
		if _, err := DecodeTrial([]byte(rec)); err == nil {
			t.Errorf("DecodeTrial(%q): no error", rec)
		}
	}
}

// FuzzDecodeTrial checks that DecodeTrial never panics, and that what it
// accepts is a valid trial that encodes and decodes to itself.
func FuzzDecodeTrial(f *testing.F) {
	tr := testTrial()
	b, _ := EncodeTrial(&tr)
	f.Add(b)
	f.Add([]byte(`{"product":"1CJS2"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeTrial(b)
		if err != nil {
			return
		}
		if err := got.Check(); err != nil {
			t.Fatalf("accepted an invalid trial: %v", err)
		}
		again, err := EncodeTrial(&got)
		if err != nil {
			t.Fatalf("accepted trial does not encode: %v", err)
		}
		if back, err := DecodeTrial(again); err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("accepted trial does not round-trip: %+v, %v", back, err)
		}
	})
}
