//go:build unix

package gateway_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/keygen/composite"
)

func initGateway(t *testing.T, dir string) {
	t.Helper()
	if _, err := gateway.Init(dir, composite.MLDSA44Ed25519, "127.0.0.1:7443"); err != nil {
		t.Fatalf("gateway.Init: %v", err)
	}
}

// serveDir serves the gateway initialised in dir until the returned stop
// is called (or the test ends).
func serveDir(t *testing.T, dir string) (logs *gatewaytest.Logs, stop func()) {
	t.Helper()
	logs = &gatewaytest.Logs{}
	srv, err := gateway.New(gateway.Config{Dir: dir, Listen: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	waitAdmin(t, dir, logs)
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return logs, stop
}

// TestNewRefusesDataDirOthersCanWrite: a data directory its group or
// others can write, or that belongs to another user than the gateway's and
// root, is refused with the command that fixes it.
func TestNewRefusesDataDirOthersCanWrite(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	initGateway(t, dir)
	for _, mode := range []os.FileMode{0o770, 0o702, 0o777, 0o1777} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		_, err := gateway.New(gateway.Config{Dir: dir, Listen: "127.0.0.1:0"})
		if !errors.Is(err, gateway.ErrConfig) || !strings.Contains(err.Error(), "can be written by its group or by others") || !strings.Contains(err.Error(), "run `chmod 700 "+dir+"`") {
			t.Fatalf("New on a data directory of mode %v: %v; want a refusal that says to run chmod 700", mode, err)
		}
	}
	if os.Geteuid() == 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		_, err := gateway.New(gateway.Config{Dir: dir, Listen: "127.0.0.1:0"})
		if !errors.Is(err, gateway.ErrConfig) || !strings.Contains(err.Error(), "belongs to uid 65534") {
			t.Fatalf("New on a data directory of uid 65534, as root: %v; want a refusal", err)
		}
		if err := os.Chown(dir, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	// What init makes, and a directory others may only enter, serve.
	for _, mode := range []os.FileMode{0o700, 0o755} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		_, stop := serveDir(t, dir)
		stop()
	}
}

// TestAdminSocketDirectory: the gateway makes DIR/run private before it
// binds the socket there (an existing one is set to 0700), removes a
// socket a dead gateway left there and the DIR/admin.sock of an older
// gateway, and opens no admin socket in a DIR/run that is a symlink.
func TestAdminSocketDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	initGateway(t, dir)
	run := filepath.Join(dir, gateway.DirRun)
	if err := os.Mkdir(run, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{gateway.AdminSocketPath(dir), filepath.Join(dir, gateway.FileAdminSocket)} {
		leaveSocket(t, p)
	}
	_, stop := serveDir(t, dir)
	if m := fileMode(t, run); m != 0o700 {
		t.Fatalf("DIR/run has mode %v with the gateway running; want 0700", m)
	}
	if socketAt(filepath.Join(dir, gateway.FileAdminSocket)) {
		t.Fatalf("the socket of an older gateway is left in DIR")
	}
	if r := adminDo(t, dir, adminapi.OpStats, adminapi.None{}); r.Counters == nil {
		t.Fatalf("the running gateway's admin socket does not answer stats: %+v", r)
	}
	stop()

	elsewhere := t.TempDir()
	if err := os.Chmod(elsewhere, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(run); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, run); err != nil {
		t.Fatal(err)
	}
	logs, stop := serveDir(t, dir)
	if socketAt(filepath.Join(elsewhere, gateway.FileAdminSocket)) {
		t.Fatalf("the admin socket was bound through a symlinked DIR/run")
	}
	if !strings.Contains(logs.String(), "no admin socket") || !strings.Contains(logs.String(), "is not a directory") {
		t.Fatalf("a symlinked DIR/run was not reported:\n%s", logs.String())
	}
	stop()
}

// leaveSocket leaves a socket at path, as a gateway that died does.
func leaveSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if !socketAt(path) {
		t.Fatalf("no socket left at %s", path)
	}
}
