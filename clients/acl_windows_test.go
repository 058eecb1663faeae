package clients

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestRestrictDir reads back the state directory's DACL: protected (no
// inherited ACE that would let every user read the install key), and
// granting access to the owner, SYSTEM and Administrators only.
//
// clienttest runs it under Wine, which accepts the new DACL but does not
// keep it (Wine 8 reads back its default); there it checks only that the
// state directory is restricted without error and still usable.
func TestRestrictDir(t *testing.T) {
	base, err := os.MkdirTemp("", "tollgate-acl")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base) // Wine may refuse some removals; nothing to do then
	dir := filepath.Join(base, "state")
	st, damaged, err := LoadState(dir)
	if err != nil || damaged != nil {
		t.Fatalf("LoadState: %v, %v", damaged, err)
	}
	if err := st.Save(); err != nil {
		t.Fatalf("Save in the restricted directory: %v", err)
	}
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	sddl := sd.String()
	if underWine() {
		t.Logf("under Wine, which does not keep DACLs: read back %s", sddl)
		return
	}
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	me := u.User.Sid.String()
	if !strings.HasPrefix(sddl, "D:P") {
		t.Fatalf("DACL %s is not protected from inheritance", sddl)
	}
	for _, want := range []string{";;;" + me + ")", ";;;SY)", ";;;BA)"} {
		if !strings.Contains(sddl, want) {
			t.Errorf("DACL %s grants nothing to %s", sddl, want)
		}
	}
	if n := strings.Count(sddl, "(A;"); n != 3 {
		t.Errorf("DACL %s has %d allow entries, want 3", sddl, n)
	}
	for _, who := range []string{";;;WD)", ";;;BU)", ";;;AU)"} {
		if strings.Contains(sddl, who) {
			t.Errorf("DACL %s lets %s in", sddl, who)
		}
	}
}

// underWine reports whether this process runs under Wine: its ntdll
// exports wine_get_version.
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
