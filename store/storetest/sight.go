package storetest

import (
	"errors"
	"testing"

	"github.com/tollgate/tollgate/store"
)

// testSightings: sightings changed in an update land with it; cleared
// ones read as none; an update that does not read them leaves them alone;
// FlaggedLicenses lists only the flagged, oldest first.
func testSightings(t *testing.T, b store.Backend) {
	ls := []store.License{NewLicense(t, 1), NewLicense(t, 1), NewLicense(t, 1)}
	create(t, b, ls...)
	sight := func(l store.License, flagAt int64) {
		t.Helper()
		err := b.Update(l.ID, nil, func(tx *store.Tx) error {
			sg, err := tx.Sightings()
			if err != nil {
				return err
			}
			sg.Add(store.SightMachine, 42, 100, 0)
			sg.FlaggedAt = flagAt
			if flagAt != 0 {
				sg.Reason = "too many"
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sight(ls[0], 500)
	sight(ls[1], 0)
	sight(ls[2], 300)
	fl, err := b.FlaggedLicenses(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(fl) != 2 || fl[0].License.ID != ls[2].ID || fl[1].License.ID != ls[0].ID || fl[0].Sightings.Count(store.SightMachine, 0) != 1 {
		t.Fatalf("FlaggedLicenses = %+v", fl)
	}
	if fl, _ := b.FlaggedLicenses(1); len(fl) != 1 {
		t.Fatalf("FlaggedLicenses(1) gave %d", len(fl))
	}
	if sg, err := b.Sightings(ls[1].ID); err != nil || sg.FlaggedAt != 0 || sg.Count(store.SightMachine, 0) != 1 {
		t.Fatalf("Sightings of an unflagged license = %+v, %v", sg, err)
	}
	if err := b.Update(ls[0].ID, nil, func(tx *store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if sg, err := b.Sightings(ls[0].ID); err != nil || sg.FlaggedAt != 500 {
		t.Fatalf("after an update without them: %+v, %v", sg, err)
	}
	err = b.Update(ls[0].ID, nil, func(tx *store.Tx) error {
		sg, err := tx.Sightings()
		*sg = store.Sightings{}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if sg, err := b.Sightings(ls[0].ID); err != nil || !sg.Empty() {
		t.Fatalf("cleared sightings: %+v, %v", sg, err)
	}
	// Reset without reading them.
	if err := b.Update(ls[2].ID, nil, func(tx *store.Tx) error { tx.ResetSightings(); return nil }); err != nil {
		t.Fatal(err)
	}
	if fl, err := b.FlaggedLicenses(0); err != nil || len(fl) != 0 {
		t.Fatalf("FlaggedLicenses after clearing both = %+v, %v", fl, err)
	}
}

// testClose: after Close, the backend answers ErrClosed; Close again is
// harmless.
func testClose(t *testing.T, b store.Backend) {
	l := NewLicense(t, 1)
	create(t, b, l)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close again: %v", err)
	}
	for name, err := range map[string]error{
		"Update":         b.Update(l.ID, nil, func(*store.Tx) error { return nil }),
		"CreateLicenses": b.CreateLicenses([]store.License{NewLicense(t, 1)}, nil),
		"Audit":          b.Audit(store.AuditEntry{Kind: "x"}),
		"WriteSeen":      b.WriteSeen([]store.Seen{{License: l.ID}}),
		"AddShop":        b.AddShop(Shop("acme", 0)),
	} {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if _, err := b.LicenseByID(l.ID); !errors.Is(err, store.ErrClosed) {
		t.Errorf("LicenseByID after Close: %v, want ErrClosed", err)
	}
	if _, err := b.Activations(l.ID); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Activations after Close: %v, want ErrClosed", err)
	}
	if _, _, err := b.MintOrder(store.Order{Shop: "acme", ID: "1", Count: 1}, 0, nil); !errors.Is(err, store.ErrClosed) {
		t.Errorf("MintOrder after Close: %v, want ErrClosed", err)
	}
	if _, err := b.FlaggedLicenses(0); !errors.Is(err, store.ErrClosed) {
		t.Errorf("FlaggedLicenses after Close: %v, want ErrClosed", err)
	}
	if st := b.Stats(); st.Bytes != 0 || len(st.Extra) != 0 {
		t.Errorf("Stats after Close = %+v, want none", st)
	}
}
