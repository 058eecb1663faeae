package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/channel"
)

// The admin socket tests run the test binary again as a child: as a
// gateway under umask 000, or as an attacker with the uid and gid of
// nobody (65534). helperEnv says which; the other variables say where.
const (
	helperEnv      = "TOLLGATE_ADMIN_TEST_HELPER" // "gateway", "hammer" or "once"
	helperDirEnv   = "TOLLGATE_ADMIN_TEST_DIR"    // gateway: the data directory
	helperPathsEnv = "TOLLGATE_ADMIN_TEST_PATHS"  // attacker: socket paths, separated by newlines
	nobody         = 65534
)

// TestAdminHelper is the child process of the admin socket tests; run
// directly, it skips.
func TestAdminHelper(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "gateway":
		os.Exit(helperGateway(os.Getenv(helperDirEnv)))
	case "hammer":
		os.Exit(helperAttack(strings.Split(os.Getenv(helperPathsEnv), "\n"), true))
	case "once":
		os.Exit(helperAttack(strings.Split(os.Getenv(helperPathsEnv), "\n"), false))
	}
	t.Skip("the child process of the admin socket tests")
}

// helperGateway serves dir under umask 000 until SIGTERM.
func helperGateway(dir string) int {
	syscall.Umask(0) // this process only: the test process keeps its umask
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	srv, err := gateway.New(gateway.Config{Dir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway.New:", err)
		return 1
	}
	if err := srv.Serve(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "Serve:", err)
		return 1
	}
	return 0
}

// helperAttack connects to the socket paths and asks each gateway that
// answers to register a shop allowed from everywhere. Once, it tries each
// path once. Hammering, it tries them in a loop from two goroutines
// between the lines "go" and "rest" on its stdin (while a gateway starts),
// until its stdin closes (at most five minutes). It prints a line
// "answer JSON" for each answer, "cut ERROR" for a connection closed
// without one, and "tries N" at the end.
func helperAttack(paths []string, hammer bool) int {
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	body, _ := json.Marshal(adminapi.Shop{
		Name: "attacker", PublicKey: k.Public().String(), Networks: []string{"0.0.0.0/0", "::/0"}, Products: []string{"1AJS2"}})
	req, _ := json.Marshal(adminapi.Request{Op: adminapi.OpShopAdd.Name, Body: body})
	req = append(req, '\n')
	var stop atomic.Bool
	var tries atomic.Int64
	var mu sync.Mutex
	say := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Println(s)
	}
	attempt := func(path string) {
		tries.Add(1)
		c, err := net.Dial("unix", path)
		if err != nil {
			if !hammer {
				say("dial " + err.Error())
			}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Minute))
		c.Write(req) // a refusal may come before the request is read
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			say("cut " + err.Error())
			return
		}
		say("answer " + strings.TrimSpace(line))
	}
	if !hammer {
		for _, p := range paths {
			attempt(p)
		}
		return 0
	}
	var on atomic.Bool
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			on.Store(sc.Text() == "go")
		}
		stop.Store(true)
	}()
	end := time.Now().Add(5 * time.Minute)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load() && i < 100_000_000; i++ {
				if i%4096 == 0 && time.Now().After(end) {
					return
				}
				if !on.Load() {
					time.Sleep(time.Millisecond)
					continue
				}
				for _, p := range paths {
					attempt(p)
				}
			}
		}()
	}
	wg.Wait()
	say(fmt.Sprintf("tries %d", tries.Load()))
	return 0
}

// requireRoot skips a test that runs an attacker as another user.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the attacker as uid 65534 (CI runs as root)")
	}
}

// publicDir returns a new temporary directory that every user can enter
// and read, as its parent (the test's temporary directory) is made too.
func publicDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	for _, p := range []string{d, filepath.Dir(d)} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// attackerBinary copies the test binary where uid 65534 can run it.
func attackerBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(publicDir(t), "attacker.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// attacker is the test binary running as uid and gid 65534.
type attacker struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   bytes.Buffer
}

func startAttacker(t *testing.T, bin, mode string, paths ...string) *attacker {
	t.Helper()
	a := &attacker{cmd: exec.Command(bin, "-test.run=^TestAdminHelper$")}
	a.cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperPathsEnv+"="+strings.Join(paths, "\n"))
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	a.cmd.Stdout = &a.out
	a.cmd.Stderr = &a.out
	stdin, err := a.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	a.stdin = stdin
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if a.cmd.ProcessState == nil {
			a.cmd.Process.Kill()
			a.cmd.Wait()
		}
	})
	return a
}

// say writes a line to the attacker's stdin.
func (a *attacker) say(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(a.stdin, line+"\n"); err != nil {
		t.Fatalf("attacker: %v\n%s", err, a.out.String())
	}
}

// finish stops the attacker and returns what it printed.
func (a *attacker) finish(t *testing.T) string {
	t.Helper()
	a.stdin.Close()
	if err := waitBounded(a.cmd); err != nil {
		t.Fatalf("attacker: %v\n%s", err, a.out.String())
	}
	return a.out.String()
}

// waitBounded waits for cmd to exit, and kills it if it has not within a
// minute: only a hang takes that long.
func waitBounded(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not exit within a minute; killed", cmd.Path)
	}
}

// notRefused returns the attacker's answers other than a refusal.
func notRefused(out string) []string {
	var bad []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "answer ") && !strings.Contains(l, `"error":"permission denied: `) {
			bad = append(bad, l)
		}
	}
	return bad
}

// TestAdminSocketRaceAttack performs the attack of issue 12: a data
// directory others can enter, a gateway started under umask 000, and
// uid 65534 connecting to the admin socket as fast as it can while the
// gateway starts, ten times, to register a shop allowed from 0.0.0.0/0.
// The socket path of older gateways (DIR/admin.sock) is tried too. No shop
// may be registered, and the attacker may get no answer but a refusal.
func TestAdminSocketRaceAttack(t *testing.T) {
	requireRoot(t)
	if testing.Short() {
		t.Skip("starts a gateway process ten times")
	}
	dir := filepath.Join(publicDir(t), "data")
	initGateway(t, dir)
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	oldPath, path := filepath.Join(dir, gateway.FileAdminSocket), gateway.AdminSocketPath(dir)
	att := startAttacker(t, attackerBinary(t), "hammer", oldPath, path)
	const starts = 10
	for i := range starts {
		cmd := exec.Command(self, "-test.run=^TestAdminHelper$")
		cmd.Env = append(os.Environ(), helperEnv+"=gateway", helperDirEnv+"="+dir)
		var logs bytes.Buffer
		cmd.Stderr = &logs
		att.say(t, "go")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		up := false
		for deadline := time.Now().Add(time.Minute); !up && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			up = socketAt(path) || socketAt(oldPath)
		}
		if up {
			// The gateway answers its own user (once it listens: the
			// socket's file exists from its bind); and the attacker has
			// time to send what it sent while the socket was bound.
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
				if _, err = adminCall(dir, adminapi.OpStats, adminapi.None{}); err == nil || time.Now().After(deadline) {
					break
				}
			}
			time.Sleep(300 * time.Millisecond)
		}
		att.say(t, "rest")
		cmd.Process.Signal(syscall.SIGTERM)
		if werr := waitBounded(cmd); !up || err != nil || werr != nil {
			t.Fatalf("start %d: socket up %v, stats %v, exit %v; the gateway logged:\n%s", i, up, err, werr, logs.String())
		}
		if strings.Contains(logs.String(), "no admin socket") {
			t.Fatalf("start %d: the gateway opened no admin socket:\n%s", i, logs.String())
		}
	}
	out := att.finish(t)
	if bad := notRefused(out); len(bad) > 0 {
		t.Errorf("uid %d got %d answers other than a refusal from the admin socket, such as %s", nobody, len(bad), bad[0])
	}
	if r := adminDo(t, dir, adminapi.OpShopList, adminapi.None{}); len(r.Shops) > 0 {
		t.Fatalf("uid %d registered shop %q allowed from %v through the admin socket", nobody, r.Shops[0].Name, r.Shops[0].Networks)
	}
	t.Logf("%d gateway starts under umask 000; the attacker (uid %d): %s", starts, nobody, lastLine(out))
}

// TestAdminSocketRefusesOtherUsers: even when the admin socket and its
// directory are made open to all (chmod 0777), a connection from another
// user gets one refusal line and nothing done (SO_PEERCRED), and the
// gateway logs a warning.
func TestAdminSocketRefusesOtherUsers(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	g := startShopGateway(t)
	dir := g.srv.Identity().Dir
	waitAdmin(t, dir, g.logs) // the gateway's chmod of its socket is done
	for _, p := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{filepath.Join(dir, gateway.DirRun), gateway.AdminSocketPath(dir)} {
		if err := os.Chmod(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	att := startAttacker(t, attackerBinary(t), "once", gateway.AdminSocketPath(dir))
	out := att.finish(t)
	want := fmt.Sprintf(`answer {"error":"permission denied: the admin socket answers only the gateway's user (uid 0) and root; this connection is from uid %d"}`, nobody)
	if !strings.Contains(out, want) {
		t.Errorf("uid %d was not refused: it got\n%s\nwant %s", nobody, out, want)
	}
	if bad := notRefused(out); len(bad) > 0 {
		t.Errorf("uid %d got an answer other than a refusal: %s", nobody, bad[0])
	}
	if r := adminDo(t, dir, adminapi.OpShopList, adminapi.None{}); len(r.Shops) > 0 {
		t.Fatalf("uid %d registered shop %q through a world-writable admin socket", nobody, r.Shops[0].Name)
	}
	if logs := g.logs.String(); !strings.Contains(logs, "admin socket: refused a connection from another user") || !strings.Contains(logs, fmt.Sprintf("uid=%d", nobody)) {
		t.Errorf("the refusal was not logged:\n%s", logs)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
