package clients

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// restrictDir makes dir readable by its owner only, as 0700 does on Linux:
// a protected DACL (nothing inherited from %ProgramData%, where every user
// may read) granting full control to the current user, SYSTEM and the
// Administrators group, inherited by every file created in it (the install
// key among them).
func restrictDir(dir string) error {
	tok := windows.GetCurrentProcessToken()
	u, err := tok.GetTokenUser()
	if err != nil {
		return fmt.Errorf("clients: state directory: current user: %w", err)
	}
	sd, err := windows.SecurityDescriptorFromString(
		"D:P(A;OICI;FA;;;" + u.User.Sid.String() + ")(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)")
	if err != nil {
		return fmt.Errorf("clients: state directory: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("clients: state directory: %w", err)
	}
	err = windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("clients: state directory %s: restricting access: %w", dir, err)
	}
	return nil
}
