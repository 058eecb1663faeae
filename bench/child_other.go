//go:build !linux

package bench

import "os/exec"

// childAttrs has nothing to set outside Linux: a benchmark that dies
// without stopping its children leaves them to be stopped by hand.
func childAttrs(cmd *exec.Cmd) {}
