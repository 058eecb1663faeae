package clients

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadState: whatever the license, lease, checks and clock files hold
// (a damaged disk, a user's editor), LoadState returns a usable state and
// says what was damaged, never an error or a panic; what it kept is saved
// and read back unchanged and undamaged.
func FuzzLoadState(f *testing.F) {
	f.Add([]byte("00112233445566778899aabbccddeeff 1AJS2\n"), []byte("-----BEGIN TOLLGATE LEASE-----\n"), []byte("7 1700000000\n"), []byte("1700000000\n"))
	f.Add([]byte("0011 1AJS2\n"), []byte(""), []byte("7\n"), []byte("-1\n"))
	f.Add([]byte("00112233445566778899aabbccddeeff 1ajs2"), []byte("\x00"), []byte("18446744073709551615 0\n"), []byte("9223372036854775807\n"))
	f.Fuzz(func(t *testing.T, license, lease, checks, clock []byte) {
		dir := t.TempDir()
		for name, b := range map[string][]byte{FileLicense: license, FileLease: lease, FileChecks: checks, FileClock: clock} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		st, _, err := LoadState(dir)
		if err != nil {
			t.Fatalf("LoadState of damaged files = %v, want a state and a damage report", err)
		}
		if err := st.Save(); err != nil {
			t.Fatal(err)
		}
		if !st.HasLicense {
			st.Lease = nil // Save keeps no lease without its license
		}
		again, damaged, err := LoadState(dir)
		if err != nil || damaged != nil {
			t.Fatalf("state saved after recovery reads back as %v, %v", damaged, err)
		}
		if again.HasLicense != st.HasLicense || again.LicenseID != st.LicenseID || again.Product != st.Product ||
			string(again.Lease) != string(st.Lease) || again.Counter != st.Counter ||
			again.LastContact != st.LastContact || again.Trusted != st.Trusted || again.InstallKey != st.InstallKey {
			t.Fatalf("saved state changed on reading back:\n%+v\n%+v", st, again)
		}
	})
}
