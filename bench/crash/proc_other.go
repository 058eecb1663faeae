//go:build !linux

package crash

import "os/exec"

// childAttrs does nothing here: only Linux stops a child with its parent.
func childAttrs(cmd *exec.Cmd) {}
