package crash

import (
	"os/exec"
	"syscall"
)

// childAttrs makes the kernel SIGKILL the gateway if the harness dies
// without stopping it, so that no gateway outlives its harness.
func childAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
