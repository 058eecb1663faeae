package bench

import (
	"os/exec"
	"syscall"
)

// childAttrs makes the kernel send the child SIGTERM if the benchmark dies
// without stopping it, so that no gateway outlives its benchmark.
func childAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
