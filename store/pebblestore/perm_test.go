//go:build unix

package pebblestore

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// umask0Env makes the test binary, run as a child, write a store in the
// named directory under umask 000 (TestStoreHelperUmask0).
const umask0Env = "TOLLGATE_STORE_TEST_UMASK0"

// TestStoreHelperUmask0 is the child process of TestStoreFilesPrivate; run
// directly, it skips. Under umask 000 it opens the store, writes and
// flushes several times (tables, WAL files reused, a new manifest), and
// opens it again.
func TestStoreHelperUmask0(t *testing.T) {
	dir := os.Getenv(umask0Env)
	if dir == "" {
		t.Skip("the child process of TestStoreFilesPrivate")
	}
	syscall.Umask(0) // this process only
	for round := range 2 {
		s, err := Open(Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			if err := s.db.Set(fmt.Appendf(nil, "k%d-%d", round, i), make([]byte, 1<<16), pebble.Sync); err != nil {
				t.Fatal(err)
			}
			if err := s.db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.db.Compact(context.Background(), []byte("k"), []byte("l"), true); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStoreFilesPrivate: under umask 000, no file or directory of the store
// can be read or written by the group or others; and the files of a store
// written before (here a LOCK and another file left 0666 and 0644 in a 0777
// directory) are made private when it opens.
func TestStoreFilesPrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "db")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{"LOCK": 0o666, "notes.txt": 0o644} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreHelperUmask0$")
	cmd.Env = append(os.Environ(), umask0Env+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the store under umask 000: %v\n%s", err, out)
	}
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n++
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: the group or others can read or write it", path, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 6 {
		t.Fatalf("only %d files and directories in the store: did it write anything?", n)
	}
}
