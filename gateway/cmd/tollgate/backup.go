package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/gateway"
)

// A backup is a tar file (gzipped when its name ends in .gz or .tgz): first
// backupManifest, naming the format, then the identity files
// (gateway.IdentityFiles) and the store's snapshot under db/.
const (
	backupManifest = "tollgate-backup.json"
	backupFormat   = 1
)

// manifest is the first entry of a backup.
type manifest struct {
	Format  int    `json:"format"`
	Created string `json:"created"`
}

func cmdBackup(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", stderr)
	data := fs.String("data", "", "data directory of the gateway (required)")
	out := fs.String("out", "", "backup file to write, mode 0600: it holds private keys (required)")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if *data == "" || *out == "" || len(pos) != 0 {
		return usageError("tollgate backup --data DIR --out FILE")
	}
	if _, err := os.Lstat(*out); err == nil {
		return fmt.Errorf("%s exists: give a new file name (backup never replaces a file)", *out)
	}
	for _, f := range gateway.IdentityFiles {
		if _, err := os.Stat(filepath.Join(*data, f)); err != nil {
			return fmt.Errorf("%s is not an initialised data directory: %w", *data, err)
		}
	}
	if u, err := gateway.StoreURL(*data); err != nil {
		return err
	} else if u != "" {
		return usageError("the gateway of %s keeps its state in PostgreSQL: back the database up with its own tools (pg_dump, or your provider's backups), and keep a copy of %s, which holds the gateway's identity", *data, *data)
	}
	snap, err := snapshotStore(*data)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(snap))
	n, size, err := writeBackup(*out, *data, snap)
	if err != nil {
		return err
	}
	if jsonFlag(fs) {
		return writeJSON(stdout, struct {
			Data  string `json:"data"`
			Out   string `json:"out"`
			Files int    `json:"files"`
			Bytes int64  `json:"bytes"`
		}{*data, *out, n, int64(size)})
	}
	fmt.Fprintf(stdout, "backed up %s into %s (%d files, %d bytes, mode 0600)\n", *data, *out, n, size)
	fmt.Fprintf(stdout, "it holds the gateway's private keys: keep it as safe as %s\n", *data)
	return nil
}

// snapshotPrefix begins the name of a backup's snapshot directory inside
// the data directory, followed by the backup's process id.
const snapshotPrefix = ".backup-"

// removeStaleSnapshots removes the snapshot directories that backups
// killed before they could clean up left in the data directory abs: those
// whose process is gone. One whose process may still run is left alone.
func removeStaleSnapshots(abs string) {
	dirs, _ := filepath.Glob(filepath.Join(abs, snapshotPrefix+"*"))
	for _, d := range dirs {
		pid, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(d), snapshotPrefix), "-")
		n, err := strconv.Atoi(pid)
		if ok && err == nil && n > 0 && !processAlive(n) {
			os.RemoveAll(d)
		}
	}
}

// snapshotStore has the store of the gateway in data copied into a new
// directory inside data (on its file system, so that the snapshot's
// tables are hard links) and returns its path: by the running gateway
// through its admin socket, else in process.
func snapshotStore(data string) (string, error) {
	abs, err := filepath.Abs(data)
	if err != nil {
		return "", err
	}
	removeStaleSnapshots(abs)
	tmp, err := os.MkdirTemp(abs, fmt.Sprintf("%s%d-", snapshotPrefix, os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("making the snapshot's directory in %s: %w", data, err)
	}
	if err := shareWithGateway(tmp, abs); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	snap := filepath.Join(tmp, gateway.DirDB)
	c, err := gateway.OpenAdmin(data)
	if err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	err = c.Snapshot(snap)
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("snapshot of the store: %w", err)
	}
	return snap, nil
}

// writeBackup writes the backup of data's identity and the snapshot snap
// into out, through a temporary file renamed once complete and synced,
// and returns how many files it holds and its size.
func writeBackup(out, data, snap string) (int, int64, error) {
	part := out + ".partial"
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return 0, 0, fmt.Errorf("%s exists: a backup into %s was interrupted, or runs now; if none runs, remove it and try again", part, out)
	}
	if err != nil {
		return 0, 0, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(part)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return 0, 0, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var w io.Writer = bw
	var gz *gzip.Writer
	if strings.HasSuffix(out, ".gz") || strings.HasSuffix(out, ".tgz") {
		gz = gzip.NewWriter(bw)
		w = gz
	}
	tw := tar.NewWriter(w)
	now := time.Now().UTC()
	m, _ := json.Marshal(manifest{Format: backupFormat, Created: now.Format(time.RFC3339)})
	if err := tw.WriteHeader(&tar.Header{Name: backupManifest, Mode: 0o600, Size: int64(len(m)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
		return 0, 0, err
	}
	if _, err := tw.Write(m); err != nil {
		return 0, 0, err
	}
	n := 0
	for _, name := range gateway.IdentityFiles {
		if err := addFile(tw, filepath.Join(data, name), name); err != nil {
			return 0, 0, err
		}
		n++
	}
	for _, name := range gateway.OptionalIdentityFiles {
		path := filepath.Join(data, name)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := addFile(tw, path, name); err != nil {
			return 0, 0, err
		}
		n++
	}
	entries, err := os.ReadDir(snap)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return 0, 0, fmt.Errorf("the store's snapshot holds %s, which is not a file: this backup cannot hold it", e.Name())
		}
		if err := addFile(tw, filepath.Join(snap, e.Name()), gateway.DirDB+"/"+e.Name()); err != nil {
			return 0, 0, err
		}
		n++
	}
	if err := tw.Close(); err != nil {
		return 0, 0, err
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return 0, 0, err
		}
	}
	if err := bw.Flush(); err != nil {
		return 0, 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	if err := f.Close(); err != nil {
		return 0, 0, err
	}
	if err := os.Rename(part, out); err != nil {
		return 0, 0, err
	}
	ok = true
	return n, fi.Size(), syncDir(filepath.Dir(out))
}

// addFile adds the file at path to tw as name.
func addFile(tw *tar.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

func cmdRestore(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("restore", stderr)
	in := fs.String("in", "", "backup file written by 'tollgate backup' (required)")
	data := fs.String("data", "", "data directory to create (required; must not exist, or be empty)")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if *in == "" || *data == "" || len(pos) != 0 {
		return usageError("tollgate restore --in FILE --data DIR")
	}
	if gateway.Running(*data) {
		return fmt.Errorf("a gateway is serving %s: restore never writes over a live data directory; restore into a new directory, stop the gateway and start it there", *data)
	}
	entries, err := os.ReadDir(*data)
	switch {
	case err == nil && len(entries) > 0:
		return fmt.Errorf("%s is not empty (it may be a data directory): restore never writes over one; give a new or empty directory", *data)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return err
	}
	abs, err := filepath.Abs(*data)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".restore-")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	n, err := extractBackup(*in, tmp)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	if _, err := gateway.LoadIdentity(tmp); err != nil {
		return fmt.Errorf("%s: the restored identity does not load: %w", *in, err)
	}
	st, err := gateway.OpenStore(tmp, gateway.StoreOptions{CacheEntries: 1024})
	if err != nil {
		return fmt.Errorf("%s: the restored store does not open: %w", *in, err)
	}
	if err := st.Close(); err != nil {
		return err
	}
	if err := os.Remove(abs); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w (restore gives it a new, private directory)", *data, err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		return err
	}
	ok = true
	if err := syncDir(filepath.Dir(abs)); err != nil {
		return err
	}
	if jsonFlag(fs) {
		return writeJSON(stdout, struct {
			Data  string `json:"data"`
			In    string `json:"in"`
			Files int    `json:"files"`
		}{*data, *in, n})
	}
	fmt.Fprintf(stdout, "restored %s from %s (%d files)\nstart it with: tollgate serve --data %s\n", *data, *in, n, *data)
	return nil
}

// extractBackup writes the files of the backup in into dir, private, and
// returns how many it wrote. It takes only the files a backup holds: the
// manifest first, the identity files and flat files under db/.
func extractBackup(in, dir string) (int, error) {
	f, err := os.Open(in)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return 0, err
		}
		r = gz
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return 0, err
	}
	if err := os.Mkdir(filepath.Join(dir, gateway.DirDB), 0o700); err != nil {
		return 0, err
	}
	tr := tar.NewReader(r)
	n := 0
	for first := true; ; first = false {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("not a tollgate backup, or a damaged one: %w", err)
		}
		if first {
			var m manifest
			if h.Name != backupManifest || json.NewDecoder(io.LimitReader(tr, 4096)).Decode(&m) != nil {
				return 0, errors.New("not a tollgate backup (no manifest)")
			}
			if m.Format != backupFormat {
				return 0, fmt.Errorf("a backup of format %d, which this tollgate does not know: restore it with the tollgate that wrote it", m.Format)
			}
			continue
		}
		name, ok := backupPath(h)
		if !ok {
			return 0, fmt.Errorf("not a tollgate backup: it holds %q", h.Name)
		}
		if err := writeRestored(filepath.Join(dir, filepath.FromSlash(name)), gateway.FileMode(name), tr); err != nil {
			return 0, err
		}
		n++
	}
	if n == 0 {
		return 0, errors.New("not a tollgate backup, or an empty one")
	}
	for _, name := range gateway.IdentityFiles {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return 0, fmt.Errorf("the backup lacks %s", name)
		}
	}
	return n, syncDir(filepath.Join(dir, gateway.DirDB))
}

// backupPath returns the path of a backup's entry in the data directory,
// and whether the entry is one a backup holds.
func backupPath(h *tar.Header) (string, bool) {
	if h.Typeflag != tar.TypeReg {
		return "", false
	}
	if slices.Contains(gateway.IdentityFiles, h.Name) || slices.Contains(gateway.OptionalIdentityFiles, h.Name) {
		return h.Name, true
	}
	base, ok := strings.CutPrefix(h.Name, gateway.DirDB+"/")
	if !ok || base == "" || base == "." || base == ".." || strings.ContainsAny(base, `/\`) {
		return "", false
	}
	return h.Name, true
}

// writeRestored writes r into a new file at path with mode (0600, or 0644
// for a public file, less the umask: as init writes them; tollgate's own
// umask keeps even those private), synced.
func writeRestored(path string, mode fs.FileMode, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
