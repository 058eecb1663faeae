package crash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/internal/pgtest"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// tollgate builds the tollgate command once for the tests of the package,
// as Run does when it is not given one.
func tollgate(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "tollgate-crash-test-"); buildErr == nil {
			buildBin, buildErr = build(context.Background(), buildDir)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// TestHarness runs the harness end to end for three cycles: the real
// tollgate binary built from the tree (as Run builds it by default), SIGKILLed under load three times,
// and the store checked after each restart and at the end.
func TestHarness(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the tollgate binary")
	}
	harness(t, Config{})
}

// TestHarnessPostgres runs the harness for three cycles on a PostgreSQL
// store shared by two gateways: both SIGKILLed under load each cycle, each
// install checked through the other node than the one it was loaded on,
// and the database read by `tollgate license show` at the end.
func TestHarnessPostgres(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the tollgate binary")
	}
	url := pgtest.URL(t)
	progress := harness(t, Config{Store: url, Nodes: 2})
	if !strings.Contains(progress, "2 gateway(s) on one PostgreSQL store") {
		t.Errorf("the progress does not say the run was on PostgreSQL with 2 nodes")
	}
	if strings.Contains(progress, url) || strings.Contains(progress, "tollgate-test-pw") {
		t.Errorf("the progress holds the store's connection string")
	}
}

// harness runs three short cycles with cfg's store and nodes, checks what
// every run must find, and returns the progress written.
func harness(t *testing.T, cfg Config) string {
	t.Helper()
	ctx := hang.Context(t)
	data := filepath.Join(t.TempDir(), "data")
	var progress bytes.Buffer
	res, err := Run(ctx, Config{
		Cycles:   3,
		Licenses: 3,
		Seats:    2,
		RunMin:   100 * time.Millisecond,
		RunMax:   400 * time.Millisecond,
		Tollgate: tollgate(t),
		Data:     data,
		Store:    cfg.Store,
		Nodes:    cfg.Nodes,
		Progress: &progress,
	})
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Log(res)
	for _, n := range res.Notes {
		t.Log(n)
	}
	if !res.OK() {
		t.Fatalf("the store broke its word: %s", res)
	}
	if res.Cycles != 3 {
		t.Errorf("%d cycles done, want 3", res.Cycles)
	}
	// Every cycle waits for an answer before its kill.
	if res.Acknowledged() < 3 || res.Activations == 0 {
		t.Errorf("%d answers acknowledged, %d of them activations: want at least one a cycle", res.Acknowledged(), res.Activations)
	}
	for c := 1; c <= 3; c++ {
		if !strings.Contains(progress.String(), fmt.Sprintf("cycle %d/3:", c)) {
			t.Errorf("no progress line for cycle %d", c)
		}
	}
	if !strings.HasPrefix(res.String(), "crash: 3 cycles, ") || !strings.Contains(res.String(), " 0 lost, 0 over-seat, ") {
		t.Errorf("summary %q", res)
	}
	// Licenses are named by id prefix: no key, whole or in groups.
	all := progress.String() + res.String() + strings.Join(res.Notes, "\n")
	if k := keyLike.FindString(all); k != "" {
		t.Errorf("the output holds something like a license key (%d characters)", len(k))
	}
	// The data directory given is kept, and only its owner may enter it.
	fi, err := os.Stat(data)
	if err != nil {
		t.Fatalf("data directory: %v", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("data directory mode %v, want 0700", fi.Mode().Perm())
	}
	return progress.String()
}

var keyLike = regexp.MustCompile(`[0-9A-Z]{30}|[0-9A-Z]{5}(-[0-9A-Z*]{5}){5}`)

func TestBadConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{
		{Cycles: -1},
		{Concurrency: 100, Licenses: 2, Installs: 3},
		{RunMin: time.Second, RunMax: time.Millisecond},
		{Seats: 1001},
		{Nodes: 2},
		{Store: "host=127.0.0.1 dbname=x"},
	} {
		if _, err := Run(context.Background(), c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", c, err)
		}
	}
}

// TestCheckDetects shows that the check is not blind: against a real
// gateway, a model that contradicts the store counts as lost, an install
// the model lost track of as reconciled, and a license holding more
// machines than the model's seats as over-seat.
func TestCheckDetects(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the tollgate binary")
	}
	ctx := context.Background()
	g := &gateway{bin: tollgate(t), data: filepath.Join(t.TempDir(), "data")}
	if err := g.init(ctx, ""); err != nil {
		t.Fatal(err)
	}
	lics, err := g.mint(ctx, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	installs, err := newInstalls(lics, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer closeClients(installs)
	if err := g.start(ctx); err != nil {
		t.Fatal(err)
	}
	defer g.kill()
	checkOnce := func(what string) *Result {
		t.Helper()
		var res Result
		if err := check(ctx, []*gateway{g}, 0, installs, lics, &res); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if res.Unexpected != 0 {
			t.Fatalf("%s: unexpected answers: %q", what, res.Notes)
		}
		return &res
	}
	if res := checkOnce("fresh licenses"); !res.OK() || res.Lost != 0 {
		t.Fatalf("fresh licenses: %s %q", res, res.Notes)
	}

	// Install 0 activates for real; the model is told it did not.
	var tl tally
	var killed atomic.Bool
	if !toggle(ctx, installs[0], &killed, &tl) || tl.activations != 1 || installs[0].state != active {
		t.Fatalf("activation: %d acknowledged, state %v (%q)", tl.activations, installs[0].state, tl.notes)
	}
	installs[0].state = inactive
	// Install 1 was never activated; the model says it is.
	installs[1].state = active
	// Install 2 had a request in flight at a kill.
	installs[2].state = inFlight
	res := checkOnce("a wrong model")
	if res.Lost != 2 || res.OverSeat != 0 {
		t.Errorf("a wrong model: %s %q; want 2 lost", res, res.Notes)
	}
	if installs[0].state != active || installs[1].state != inactive || installs[2].state != inactive {
		t.Errorf("not reconciled from the store: %v %v %v", installs[0].state, installs[1].state, installs[2].state)
	}
	if res := checkOnce("a reconciled model"); !res.OK() {
		t.Errorf("a reconciled model: %s %q", res, res.Notes)
	}

	// Two machines on a license the model thinks has one seat.
	if !toggle(ctx, installs[1], &killed, &tl) || installs[1].state != active {
		t.Fatalf("second activation: state %v (%q)", installs[1].state, tl.notes)
	}
	lics[0].seats = 1
	if res := checkOnce("one seat"); res.OverSeat != 1 {
		t.Errorf("one seat: %s %q; want 1 over-seat", res, res.Notes)
	}
	// A third machine is refused for want of a seat, and stays out.
	if !toggle(ctx, installs[2], &killed, &tl) || tl.refuse != 1 || installs[2].state != inactive {
		t.Errorf("third activation on two seats: %d refused, state %v (%q)", tl.refuse, installs[2].state, tl.notes)
	}
	closeClients(installs)
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}
	if used, seats, err := g.show(ctx, lics[0]); err != nil || used != 2 || seats != 2 {
		t.Errorf("license show: %d used of %d, %v; want 2 of 2", used, seats, err)
	}
}
