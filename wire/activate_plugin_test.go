package wire

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestActivateRequestPlugin: a plug-in's activation carries its base
// license id after the app version; the encoding round-trips, every cut
// short of the id is refused, and the zero id (absent) has one encoding,
// the shorter one.
func TestActivateRequestPlugin(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "activate-request-plugin.golden"))
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, string(golden))
	m := testActivateRequest
	m.Base = testLicenseID
	if err := m.Check(); err != nil {
		t.Fatalf("Check() = %v", err)
	}
	if got := m.Append(nil); !bytes.Equal(got, want) {
		t.Fatalf("Append: %d bytes, differs from golden (%d bytes) at byte %d", len(got), len(want), firstDiff(got, want))
	}
	if m.Len() != len(want) {
		t.Fatalf("Len() = %d, want %d", m.Len(), len(want))
	}
	got, n, err := ParseActivateRequest(want)
	if err != nil || n != len(want) || got.Base != testLicenseID {
		t.Fatalf("parse golden: n = %d, err = %v, base %x", n, err, got.Base)
	}
	if enc := got.Append(nil); !bytes.Equal(enc, want) {
		t.Fatalf("parse then Append differs from golden at byte %d", firstDiff(enc, want))
	}
	short := testActivateRequest.Len()
	if got, _, err := ParseActivateRequest(want[:short]); err != nil || got.Base != ([LicenseIDSize]byte{}) {
		t.Fatalf("without the base: err = %v, base %x; want a request without base", err, got.Base)
	}
	for i := short + 1; i < len(want); i++ {
		if _, n, err := ParseActivateRequest(want[:i]); !errors.Is(err, ErrTrailing) || n != 0 {
			t.Errorf("%d of %d bytes (a cut base id): n = %d, err = %v; want ErrTrailing", i, len(want), n, err)
		}
	}
	if _, _, err := ParseActivateRequest(append(bytes.Clone(want), 0)); !errors.Is(err, ErrTrailing) {
		t.Errorf("a byte after the base id: err = %v, want ErrTrailing", err)
	}
	zero := append(bytes.Clone(want[:short]), make([]byte, LicenseIDSize)...)
	if _, _, err := ParseActivateRequest(zero); !errors.Is(err, ErrNonCanonical) {
		t.Errorf("base id of zeros: err = %v, want ErrNonCanonical", err)
	}
	if a := testing.AllocsPerRun(100, func() { _, _, _ = ParseActivateRequest(want) }); a != 0 {
		t.Errorf("parse: %v allocations, want 0", a)
	}
}
