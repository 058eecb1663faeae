package clients

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStateRoundTripAndDamage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "st")
	st, damaged, err := LoadState(dir)
	if err != nil || damaged != nil {
		t.Fatalf("LoadState on first use: %v, %v", err, damaged)
	}
	st.HasLicense, st.Product = true, "1AJS2"
	st.LicenseID[0] = 7
	st.Lease = []byte("not a real lease, but armored all the same")
	st.Counter, st.LastContact, st.Trusted = 12, 1_700_000_000, 1_700_000_100
	if err := st.Save(); err != nil {
		t.Fatalf("Save: %v", err)
	}
	for _, f := range []string{FileInstallKey, FileLicense, FileLease, FileChecks, FileClock} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	back, damaged, err := LoadState(dir)
	if err != nil || damaged != nil {
		t.Fatalf("reload: %v, %v", err, damaged)
	}
	if back.InstallKey != st.InstallKey || back.LicenseID != st.LicenseID || string(back.Lease) != string(st.Lease) ||
		back.Product != "1AJS2" || SavedProduct(dir) != "1AJS2" || back.Counter != 12 || back.LastContact != 1_700_000_000 || back.Trusted != 1_700_000_100 {
		t.Fatalf("reloaded state differs")
	}

	// Every file truncated: each reported, none fatal, the key replaced.
	for _, f := range []string{FileInstallKey, FileLicense, FileLease, FileChecks, FileClock} {
		p := filepath.Join(dir, f)
		b, _ := os.ReadFile(p)
		if err := os.WriteFile(p, b[:len(b)/3], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bad, damaged, err := LoadState(dir)
	if err != nil {
		t.Fatalf("damaged state is an error: %v", err)
	}
	if !errors.Is(damaged, ErrState) {
		t.Fatalf("damage not reported: %v", damaged)
	}
	if bad.HasLicense || bad.Lease != nil || bad.Counter != 0 || bad.Trusted != 0 || bad.InstallKey == st.InstallKey {
		t.Fatalf("damaged files were half-read")
	}
	if _, err := os.Stat(filepath.Join(dir, FileInstallKey+".damaged")); err != nil {
		t.Fatalf("damaged install key not set aside: %v", err)
	}

	// Forgetting the license keeps the clock ratchet.
	bad.Trusted = 5
	if err := bad.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileLease)); !os.IsNotExist(err) {
		t.Fatalf("lease file left behind without a license")
	}
	again, _, _ := LoadState(dir)
	if again.Trusted != 5 {
		t.Fatalf("clock ratchet lost")
	}
}

func TestReasonsHaveSentences(t *testing.T) {
	for r, m := range messages {
		if m[0] == "" || (r != ReasonOK && r != ReasonOffline && m[1] == "") {
			t.Errorf("reason %s lacks a message or an action", r)
		}
	}
	if ReasonUnreachable.Decided() || !ReasonClockBack.Decided() {
		t.Errorf("Decided is wrong")
	}
}

// TestDamagedInstallKeyWithLicense: with a license activated, a damaged
// install key is neither replaced nor set aside (a new key would leave the
// license's seat held for good): LoadState fails with
// ErrInstallKeyDamaged, saying what to do.
func TestDamagedInstallKeyWithLicense(t *testing.T) {
	dir := t.TempDir()
	st, _, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	st.HasLicense, st.Product, st.LicenseID = true, "1AJS2", [16]byte{1, 2, 3}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, FileInstallKey)
	if err := os.WriteFile(p, []byte("damaged\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = LoadState(dir)
	if !errors.Is(err, ErrInstallKeyDamaged) || !strings.Contains(err.Error(), "Restore install.key from a backup") || !strings.Contains(err.Error(), "01020300") {
		t.Fatalf("LoadState with a damaged install key and a license: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "damaged\n" {
		t.Fatalf("the damaged install key was replaced")
	}
	if _, err := os.Stat(p + ".damaged"); !os.IsNotExist(err) {
		t.Fatalf("the damaged install key was set aside")
	}
}
