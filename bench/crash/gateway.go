package crash

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/clients"
	gw "github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/freeport"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// gateway drives the tollgate binary on one data directory: the commands
// that work on a stopped gateway, and at most one `tollgate serve` at a
// time. Several gateways on one shared store are nodes of one deployment.
// Not safe for concurrent use.
type gateway struct {
	bin, data string
	card      *wire.Card

	addr   string    // where the running gateway listens
	cmd    *exec.Cmd // the running gateway, nil when none
	exited chan struct{}
	out    *tail // its standard output and error
}

// build compiles the tollgate command into dir.
func build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "tollgate")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	gobin := os.Getenv("GO")
	if gobin == "" {
		gobin = "go"
	}
	out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, "github.com/tollgate/tollgate/gateway/cmd/tollgate").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w: go build (run from inside the module, or give the binary): %w\n%s", ErrTollgate, err, out)
	}
	return bin, nil
}

// run runs a tollgate command that works on the stopped gateway and
// returns its standard output. Its arguments are not repeated in errors:
// they may hold a license key.
func (g *gateway) run(ctx context.Context, what string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, hangLimit)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: tollgate %s: %w: %s", ErrTollgate, what, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// childEnv is the environment of the tollgate commands: the harness's,
// without gw.EnvStore, which would take the commands to another store
// than the one their data directory names.
func childEnv() []string {
	env := os.Environ()
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, gw.EnvStore+"=") {
			out = append(out, e)
		}
	}
	return out
}

// init creates the gateway's identity in g.data; with store (a postgres://
// connection string) the gateway keeps its state in that database, whose
// schema init makes.
func (g *gateway) init(ctx context.Context, store string) error {
	// A directory only the harness's user may enter; tollgate init makes
	// it so too when it creates it.
	if err := os.MkdirAll(g.data, 0o700); err != nil {
		return fmt.Errorf("crash: data directory: %w", err)
	}
	args := []string{"init", "--data", g.data, "--addr", "127.0.0.1:7443"}
	if store != "" {
		args = append(args, "--store", store)
	}
	if _, err := g.run(ctx, "init", args...); err != nil {
		return err
	}
	card, err := wire.LoadCard(filepath.Join(g.data, "server.card"))
	if err != nil {
		return fmt.Errorf("%w: server card: %w", ErrTollgate, err)
	}
	g.card = card
	return nil
}

// node returns another node of g's deployment, serving from the new data
// directory dir: a copy of g's identity and of its shared store's
// connection string, as an operator gives each node of a deployment.
func (g *gateway) node(dir string) (*gateway, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("crash: data directory: %w", err)
	}
	for _, name := range append(gw.IdentityFiles[:len(gw.IdentityFiles):len(gw.IdentityFiles)], gw.FileStore) {
		b, err := os.ReadFile(filepath.Join(g.data, name))
		if err != nil {
			return nil, fmt.Errorf("crash: copying the identity to another node: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, gw.FileMode(name)); err != nil {
			return nil, fmt.Errorf("crash: copying the identity to another node: %w", err)
		}
	}
	return &gateway{bin: g.bin, data: dir, card: g.card}, nil
}

// mint mints n keys of the given seats with `tollgate keys mint`, and
// learns each one's id from `tollgate license show`.
func (g *gateway) mint(ctx context.Context, n, seats int) ([]*license, error) {
	out, err := g.run(ctx, "keys mint", "keys", "mint", "--data", g.data, "--product", Product, "--uncatalogued",
		"--count", strconv.Itoa(n), "--seats", strconv.Itoa(seats))
	if err != nil {
		return nil, err
	}
	var lics []*license
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		k, err := keygen.ParseKey(line)
		if err != nil {
			// Not the line itself: it may be a key.
			return nil, fmt.Errorf("%w: keys mint printed a line %d that is not a key", ErrTollgate, len(lics)+1)
		}
		lics = append(lics, &license{key: k, seats: seats})
	}
	if len(lics) != n {
		return nil, fmt.Errorf("%w: keys mint printed %d keys, not %d", ErrTollgate, len(lics), n)
	}
	for _, l := range lics {
		if _, got, err := g.show(ctx, l); err != nil {
			return nil, err
		} else if got != seats {
			return nil, fmt.Errorf("%w: license %s has %d seats, not %d", ErrTollgate, l.ref, got, seats)
		}
	}
	return lics, nil
}

var (
	showID    = regexp.MustCompile(`(?m)^license ([0-9a-f]{32})$`)
	showSeats = regexp.MustCompile(`(?m)^\s+seats\s+(\d+) used of (\d+)$`)
)

// show reads a license from the stopped gateway's store with `tollgate
// license show`: the seats in use and the seats it has. It sets l.id and
// l.ref the first time, and checks them after.
func (g *gateway) show(ctx context.Context, l *license) (used, seats int, err error) {
	out, err := g.run(ctx, "license show", "license", "show", "--data", g.data, l.key.Display())
	if err != nil {
		return 0, 0, err
	}
	m, s := showID.FindSubmatch(out), showSeats.FindSubmatch(out)
	if m == nil || s == nil {
		return 0, 0, fmt.Errorf("%w: license show printed no license id or seat line", ErrTollgate)
	}
	var id [wire.LicenseIDSize]byte
	hex.Decode(id[:], m[1])
	switch {
	case l.ref == "":
		l.id, l.ref = id, string(m[1][:8])
	case id != l.id:
		return 0, 0, fmt.Errorf("%w: license %s shows as %s", ErrTollgate, l.ref, m[1][:8])
	}
	used, _ = strconv.Atoi(string(s[1]))
	seats, _ = strconv.Atoi(string(s[2]))
	return used, seats, nil
}

// client returns a client for the running gateway with this install key.
// Its requests are bounded by the caller's context; its own bound is one
// only a hang reaches.
func (g *gateway) client(key channel.PrivateKey) *clients.Client {
	c, _ := clients.New(clients.Config{Card: g.card, InstallKey: key, Address: g.addr, Timeout: hangLimit})
	return c // New fails only without a card
}

// start runs `tollgate serve` on a free loopback port and waits until it
// answers. A port taken between its choice and the gateway's bind (by a
// test running beside this one) makes the gateway exit: it tries another.
func (g *gateway) start(ctx context.Context) error {
	if g.cmd != nil {
		return errors.New("crash: a gateway is already running")
	}
	var last error
	for attempt := 0; attempt < 5; attempt++ {
		addr, err := freePort()
		if err != nil {
			return err
		}
		g.addr, g.out, g.exited = addr, &tail{}, make(chan struct{})
		cmd := exec.Command(g.bin, "serve", "--data", g.data, "--listen", addr)
		cmd.Env = childEnv()
		cmd.Stdout, cmd.Stderr = g.out, g.out
		childAttrs(cmd)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("%w: serve: %w", ErrTollgate, err)
		}
		g.cmd = cmd
		exited := g.exited
		go func() { cmd.Wait(); close(exited) }()
		if last = g.waitReady(ctx); last == nil {
			return nil
		}
		g.kill()
		if errors.Is(last, ErrHang) || ctx.Err() != nil {
			return last
		}
	}
	return last
}

// waitReady polls the gateway until it answers a time request, it exits,
// or hangLimit passes.
func (g *gateway) waitReady(ctx context.Context) error {
	probe, _ := channel.GenerateKey(nil)
	deadline := time.Now().Add(hangLimit)
	for i := 0; ; i++ {
		c, _ := clients.New(clients.Config{Card: g.card, InstallKey: probe, Address: g.addr, Timeout: 2 * time.Second})
		_, err := c.ServerTime(ctx)
		c.Close()
		if err == nil {
			return nil
		}
		select {
		case <-g.exited:
			return fmt.Errorf("%w: serve on %s exited before answering: %s", ErrTollgate, g.addr, g.out.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: serve on %s did not answer within %v (%d tries): %w", ErrHang, g.addr, hangLimit, i+1, err)
		}
	}
}

// kill SIGKILLs the running gateway, by its pid, and reaps it. It is an
// error if the gateway had exited by itself.
func (g *gateway) kill() error {
	if g.cmd == nil {
		return nil
	}
	cmd := g.cmd
	g.cmd = nil
	select {
	case <-g.exited:
		return fmt.Errorf("%w: the gateway exited by itself (%v): %s", ErrTollgate, cmd.ProcessState, g.out.String())
	default:
	}
	cmd.Process.Kill()
	<-g.exited
	return nil
}

// stop asks the running gateway to stop gracefully, and checks it did.
func (g *gateway) stop() error {
	cmd := g.cmd
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		return g.kill()
	}
	select {
	case <-g.exited:
	case <-time.After(hangLimit):
		g.kill()
		return fmt.Errorf("%w: the gateway did not stop within %v of SIGINT", ErrHang, hangLimit)
	}
	g.cmd = nil
	if !cmd.ProcessState.Success() {
		return fmt.Errorf("%w: the gateway stopped with %v: %s", ErrTollgate, cmd.ProcessState, g.out.String())
	}
	return nil
}

// freePort returns a loopback UDP address nobody was bound to a moment ago
// (internal/freeport).
func freePort() (string, error) {
	addr, err := freeport.UDP()
	if err != nil {
		return "", fmt.Errorf("crash: finding a free port: %w", err)
	}
	return addr, nil
}

// tail keeps the last bytes written to it: the end of a gateway's log,
// for errors. The gateway logs licenses by id prefix, never by key.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 2048

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > tailSize {
		b = b[len(b)-tailSize:]
	}
	return strings.TrimSpace(string(b))
}
