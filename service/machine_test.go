package service

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// TestFindLicenseAndDeactivateMachine: a license is found by its key, its
// id and the 8 hex digits logs print; one machine's seat is freed, the
// others stay, audited; refusals say what to give and never hold the key.
func TestFindLicenseAndDeactivateMachine(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	key, id := mintOne(t, s, Spec{Seats: 3, Policy: store.Policy{Level: 1}})
	for _, host := range []string{"desk", "laptop", "studio"} {
		p := newInstall(t)
		if _, err := s.Activate(&wire.ActivateRequest{Key: key, Fingerprint: testFingerprint(), Hostname: []byte(host)}, &p); err != nil {
			t.Fatalf("activate %s: %v", host, err)
		}
	}
	for _, ref := range []string{key.Display(), hex.EncodeToString(id[:]), strings.ToUpper(hex.EncodeToString(id[:])), LicenseRef(id)} {
		lic, err := FindLicense(s.st, s.keys.Hasher, ref)
		if err != nil || lic.ID != id {
			t.Fatalf("FindLicense by a %d-character reference: %x, %v", len(ref), lic.ID[:4], err)
		}
	}
	other := id
	other[0] ^= 0xff
	for _, ref := range []string{hex.EncodeToString(other[:]), hex.EncodeToString(other[:4]), "nonsense", "abc"} {
		_, err := FindLicense(s.st, s.keys.Hasher, ref)
		if KindOf(err) != KindNotFound && KindOf(err) != KindBadRequest {
			t.Errorf("FindLicense(%q): %v, want a refusal", ref, err)
		}
	}
	lic, err := FindLicense(s.st, s.keys.Hasher, key.Display())
	if err != nil {
		t.Fatal(err)
	}
	acts, err := s.st.Activations(id)
	if err != nil || len(acts) != 3 {
		t.Fatalf("%d activations, %v", len(acts), err)
	}
	gone := acts[1]
	res, err := DeactivateMachine(s.st, lic, MachineID(gone.Install), time.Now())
	if err != nil {
		t.Fatalf("DeactivateMachine: %v", err)
	}
	if len(res.Activations) != 2 {
		t.Fatalf("%d activations left, want 2", len(res.Activations))
	}
	after, _ := s.st.Activations(id)
	if len(after) != 2 || after[0].Install != acts[0].Install || after[1].Install != acts[2].Install {
		t.Fatalf("the other seats changed: %d left", len(after))
	}
	_, err = DeactivateMachine(s.st, lic, MachineID(gone.Install), time.Now())
	if !errors.Is(err, ErrNotActivated) || !strings.Contains(err.Error(), "license show") {
		t.Fatalf("deactivating it again: %v, want not activated, saying where machines are listed", err)
	}
	if _, err := DeactivateMachine(s.st, lic, "xyz", time.Now()); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("a malformed machine id: %v", err)
	}
	log, err := s.st.AuditLog(0)
	if err != nil {
		t.Fatal(err)
	}
	last := log[len(log)-1]
	if last.Kind != "license.deactivate-machine" || last.License != LicenseRef(id) || !strings.Contains(last.Detail, MachineID(gone.Install)) {
		t.Fatalf("audit entry %+v", last)
	}
	for _, e := range log {
		if strings.Contains(e.Detail, key.Display()) {
			t.Fatal("the audit log holds the key")
		}
	}
}
