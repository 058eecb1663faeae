//go:build unix

package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mainEnv makes the test binary, run as a child, run main under umask 000
// with the arguments it holds, one a line (TestMainHelperUmask0).
const mainEnv = "TOLLGATE_CMD_TEST_MAIN_UMASK0"

// TestMainHelperUmask0 is the child process of TestCommandKeepsDataPrivate;
// run directly, it skips.
func TestMainHelperUmask0(t *testing.T) {
	args := os.Getenv(mainEnv)
	if args == "" {
		t.Skip("the child process of TestCommandKeepsDataPrivate")
	}
	syscall.Umask(0) // as if started from a shell with umask 000
	os.Args = append([]string{"tollgate"}, strings.Split(args, "\n")...)
	main()
}

// TestCommandKeepsDataPrivate: started with umask 000, init and keys mint
// leave nothing in the data directory that the group or others can read
// or write, not even the public files.
func TestCommandKeepsDataPrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{{"init", "--data", dir}, {"keys", "mint", "--data", dir, "--product", "1AJS2", "--uncatalogued"}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMainHelperUmask0$")
		cmd.Env = append(os.Environ(), mainEnv+"="+strings.Join(args, "\n"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tollgate %s under umask 000: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: the group or others can read or write it", path, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
