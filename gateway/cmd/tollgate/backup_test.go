package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
)

// secretsOf returns the lines of dir's private files, which no command
// may print.
func secretsOf(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, f := range []string{gateway.FileNoiseKey, gateway.FileTLSKey, gateway.FileLeaseKey, gateway.FileKeySecret} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				out = append(out, line)
			}
		}
	}
	return out
}

// runOut runs a command that must succeed and returns stdout and stderr.
func runOut(t *testing.T, args ...string) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(args, &out, &errb); err != nil {
		t.Fatalf("tollgate %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String()
}

// TestBackupWhileServing: a backup taken while apps activate over QUIC
// holds every activation acknowledged before it began; the file is 0600
// and nothing printed holds a key; restore refuses a live or non-empty
// directory, writes 0700/0600 (0644 for the public card and certificate,
// as init does), and the restored directory serves the
// activations.
func TestBackupWhileServing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tollgate(t, "init", "--data", dir)
	var keys []keygen.Key
	for _, line := range strings.Fields(tollgate(t, "keys", "mint", "--data", dir, "--product", "1AJS2", "--uncatalogued", "--count", "4", "--seats", "100")) {
		k, err := keygen.ParseKey(line)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	live := serveDir(t, dir)

	var mu sync.Mutex
	var acks []installed
	var stop atomic.Bool
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(hang.Context(t))
	defer cancel()
	for w, key := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load() && i < 100; i++ {
				in, err := activateOver(ctx, t, live.card, key, w*1000+i, "host")
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("activation: %v", err)
					}
					return
				}
				mu.Lock()
				acks = append(acks, in)
				mu.Unlock()
			}
		}()
	}
	acked := func() []installed {
		mu.Lock()
		defer mu.Unlock()
		return append([]installed(nil), acks...)
	}
	for deadline := time.Now().Add(hang.Timeout(t)); len(acked()) < 12; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d activations acknowledged", len(acked()))
		}
	}
	before := acked() // acknowledged before the backup began
	out := filepath.Join(t.TempDir(), "tollgate.tar.gz")
	stdout, stderr := runOut(t, "backup", "--data", dir, "--out", out)
	during := len(acked())
	stop.Store(true)
	wg.Wait()
	t.Logf("%d activations acknowledged before the backup, %d by its end", len(before), during)

	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file mode %v, want 0600", fi.Mode().Perm())
	}
	printed := stdout + stderr
	for _, k := range keys {
		if strings.Contains(printed, k.Display()) || strings.Contains(printed, k.String()) {
			t.Fatal("backup printed a license key")
		}
	}
	for _, s := range secretsOf(t, dir) {
		if strings.Contains(printed, s) {
			t.Fatal("backup printed key material")
		}
	}
	if !strings.Contains(printed, "private keys") {
		t.Errorf("backup does not say its file holds private keys: %q", printed)
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".backup-*")); len(entries) != 0 {
		t.Errorf("backup left its snapshot behind: %v", entries)
	}

	// Restore refuses the live directory, and any directory not empty.
	for _, target := range []string{dir, filepath.Dir(out)} {
		var o, e bytes.Buffer
		err := run([]string{"restore", "--in", out, "--data", target}, &o, &e)
		if err == nil {
			t.Fatalf("restore over %s succeeded", target)
		}
		if target == dir && !strings.Contains(err.Error(), "serving") {
			t.Errorf("restore over a live gateway: %v, want it to say a gateway serves it", err)
		}
	}
	restored := filepath.Join(t.TempDir(), "restored")
	stdout, stderr = runOut(t, "restore", "--in", out, "--data", restored)
	for _, s := range secretsOf(t, dir) {
		if strings.Contains(stdout+stderr, s) {
			t.Fatal("restore printed key material")
		}
	}
	err = filepath.WalkDir(restored, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		switch {
		case d.IsDir():
			want = 0o700
		case gateway.FileMode(d.Name()) != 0o600:
			// A public file (the card, the certificate): as init wrote it.
			orig, err := os.Stat(filepath.Join(dir, d.Name()))
			if err != nil {
				return err
			}
			want = orig.Mode().Perm()
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	if err := run([]string{"restore", "--in", out, "--data", restored}, &o, &e); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore over a restored directory: %v, want a refusal", err)
	}

	// The restored directory serves, and holds every activation
	// acknowledged before the backup began.
	live.stop()
	back := serveDir(t, restored)
	for i, in := range before {
		acts, err := back.srv.Store().Activations(in.license)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, a := range acts {
			found = found || a.Install == in.install
		}
		if !found {
			t.Fatalf("activation %d of %d, acknowledged before the backup, is not in the restored store", i, len(before))
		}
	}
	if err := validateOver(t, back.card, before[0]); err != nil {
		t.Fatalf("the restored gateway does not validate an activation it holds: %v", err)
	}
}

// TestBackupStoppedGateway: a stopped gateway is backed up by opening its
// store; backup never replaces a file, restore takes only a backup, and
// the restored directory holds the licenses.
func TestBackupStoppedGateway(t *testing.T) {
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	key := strings.TrimSpace(tollgate(t, "keys", "mint", "--data", dir, "--product", "1AJS2", "--uncatalogued"))
	tollgate(t, "license", "suspend", "--data", dir, key)
	out := filepath.Join(t.TempDir(), "b.tar")
	tollgate(t, "backup", "--data", dir, "--out", out)
	if err := run([]string{"backup", "--data", dir, "--out", out}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("a backup over an existing file: %v, want a refusal", err)
	}
	notBackup := filepath.Join(t.TempDir(), "not.tar")
	os.WriteFile(notBackup, []byte("hello"), 0o600)
	if err := run([]string{"restore", "--in", notBackup, "--data", filepath.Join(t.TempDir(), "x")}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "not a tollgate backup") {
		t.Fatalf("restore of a file that is no backup: %v", err)
	}
	restored := t.TempDir() // empty: restore may use it
	tollgate(t, "restore", "--in", out, "--data", restored)
	if show := tollgate(t, "license", "show", "--data", restored, key); !strings.Contains(show, "suspended") {
		t.Fatalf("license show in the restored directory: %q", show)
	}
}

// TestBackupAfterInterrupted: what a killed backup left behind does not
// stand in the way: its snapshot directory in the data directory is removed
// by the next backup (one of a process that still runs is left alone), and
// its partial file is named in a refusal that says what to do.
func TestBackupAfterInterrupted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, fmt.Sprintf("%s%d-1", snapshotPrefix, dead.Process.Pid))
	live := filepath.Join(dir, fmt.Sprintf("%s%d-2", snapshotPrefix, os.Getpid()))
	for _, d := range []string{stale, live} {
		if err := os.MkdirAll(filepath.Join(d, gateway.DirDB), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "b.tar")
	os.WriteFile(out+".partial", []byte("half"), 0o600)
	err := run([]string{"backup", "--data", dir, "--out", out}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "was interrupted") || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("a backup beside a partial file: %v, want a refusal saying to remove it", err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the killed backup's snapshot directory is still there: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the snapshot directory of a running process was removed: %v", err)
	}
	os.Remove(out + ".partial")
	tollgate(t, "backup", "--data", dir, "--out", out)
}
