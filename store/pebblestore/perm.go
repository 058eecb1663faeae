package pebblestore

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// privateFS is Pebble's file system with the store's files kept private to
// the gateway's user whatever the process's umask: every file Pebble
// creates or reuses is set to mode 0600 as soon as it is open, and every
// directory it creates is 0700. Under umask 000 Pebble alone leaves them
// 0666, readable by every user of the machine: licenses, activations, the
// audit log.
//
// When Pebble takes its lock (the first thing it does on open), the
// directory is set to 0700 and the files already in it to 0600: a store
// written by an older gateway is tightened on its next open. Until then,
// the 0700 directory also closes the moment between a file's creation and
// its chmod.
type privateFS struct{ vfs.FS }

// newPrivateFS returns Pebble's default file system, kept private.
func newPrivateFS() vfs.FS { return privateFS{vfs.Default} }

// The modes of the store's files and directories.
const (
	privateFile = 0o600
	privateDir  = 0o700
)

func (p privateFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return private(p.FS.Create(name, c))(name)
}

func (p privateFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return private(p.FS.OpenReadWrite(name, c, opts...))(name)
}

func (p privateFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return private(p.FS.ReuseForWrite(oldname, newname, c))(newname)
}

func (p privateFS) MkdirAll(dir string, _ os.FileMode) error {
	return p.FS.MkdirAll(dir, privateDir)
}

func (p privateFS) Lock(name string) (io.Closer, error) {
	l, err := p.FS.Lock(name)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(name, privateFile); err != nil {
		l.Close()
		return nil, fmt.Errorf("store: make %s private: %w", name, err)
	}
	tighten(filepath.Dir(name))
	return l, nil
}

func (p privateFS) Unwrap() vfs.FS { return p.FS }

// private returns a function that sets the mode of the file just opened
// (f, err) to 0600, or closes it and fails.
func private(f vfs.File, err error) func(name string) (vfs.File, error) {
	return func(name string) (vfs.File, error) {
		if err != nil {
			return nil, err
		}
		if err := chmodFile(f, name, privateFile); err != nil {
			f.Close()
			return nil, fmt.Errorf("store: make %s private: %w", name, err)
		}
		return f, nil
	}
}

// tighten sets dir to 0700 and the files in it to 0600, as far as it can:
// what it cannot change (another user's file left there) stays as it was,
// and Pebble says so if it cannot use it.
func tighten(dir string) {
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() && fi.Mode().Perm() != privateDir {
		os.Chmod(dir, privateDir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&^privateFile == 0 {
			continue
		}
		os.Chmod(filepath.Join(dir, e.Name()), privateFile)
	}
}
