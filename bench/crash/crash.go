// Package crash is Tollgate's crash harness: it SIGKILLs a real gateway
// process, over and over, while installs activate and deactivate against
// it, and checks after each restart that the store kept every outcome the
// gateway acknowledged and never gave a license more machines than seats.
// bench/cmd/tollgate-crash binds it to flags; `make crash` runs it.
//
// A run builds the tollgate command (or takes one), initialises a data
// directory, mints Licenses keys of Seats seats each with `tollgate keys
// mint`, and gives each license Installs installs: each its own Noise
// install key and fingerprint, so that seats are raced for. Then, Cycles
// times: `tollgate serve` on a free loopback port; every install validated
// over QUIC, which reads the real state after the last kill; Concurrency
// workers toggling installs (activate the inactive, deactivate the active)
// for a random time; SIGKILL. After the last cycle the gateway is started
// and checked once more, stopped gracefully, and `tollgate license show`
// reads each license's seat count straight from the stopped store.
//
// With Store the gateway keeps its state in a PostgreSQL database instead
// of its data directory (`tollgate init --store`), and with Nodes several
// gateways share that database and one identity, each from its own data
// directory: the installs are spread over them, an install going to
// another node each cycle, so that what one node acknowledged is checked
// through another; a kill SIGKILLs every node.
//
// The model is one state per install. An acknowledged activation makes it
// active; an acknowledged deactivation, or an activation refused with
// NO_SEATS, inactive. A request that got no answer because the gateway was
// killed under it may have landed or not: the install is ambiguous until
// the next check, which takes the store's word for it. The check counts as
// lost an install whose acknowledged state the store contradicts (an
// acknowledged activation gone, an acknowledged deactivation back, a
// refused activation that took a seat), and as over-seat a license with
// more active installs than seats.
//
// The harness never prints or returns a license key, nor any private key:
// licenses are named by a prefix of their public id. It starts processes
// only on loopback, stops each one it starts by its pid (also on failure),
// and bounds every wait: a deadline is reached only by a hang.
package crash

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// Config describes one run. Its zero value is `make crash`.
type Config struct {
	// Cycles is the number of SIGKILLs. Zero means 100.
	Cycles int
	// Concurrency is the number of workers activating and deactivating at
	// once. Zero means 8.
	Concurrency int
	// Licenses is the number of keys minted. Zero means 8.
	Licenses int
	// Seats is the seats of each key. Zero means 2.
	Seats int
	// Installs is the installs that contend for each key's seats. Zero
	// means 2*Seats+1.
	Installs int
	// RunMin and RunMax bound the time load runs before the kill, drawn
	// uniformly in between; the kill also waits for a first acknowledged
	// answer of the cycle. Zero mean 200ms and 1.2s.
	RunMin, RunMax time.Duration
	// Tollgate is the tollgate binary. Empty means `go build` it into a
	// temporary directory (the working directory must be in the module).
	Tollgate string
	// Data is the gateway's data directory; it must not hold a gateway yet,
	// and is kept. Empty means one in a temporary directory, removed at the
	// end unless Keep.
	Data string
	// Keep keeps the temporary directory (binary, data) and says where.
	Keep bool
	// Store is the connection string (postgres://) of an empty PostgreSQL
	// database in which the gateway keeps its state, given to `tollgate
	// init --store`. It may hold a password: the harness never prints it.
	// Empty means the embedded store in the data directory.
	Store string
	// Nodes is the number of gateways sharing Store, each serving from a
	// data directory of its own that holds a copy of the first one's
	// identity. Zero means 1; more needs Store.
	Nodes int
	// Seed seeds the choices of installs and of the moments of the kills.
	// Zero means a random seed, reported in Result.Seed.
	Seed uint64
	// Progress receives a line a cycle. Nil means none.
	Progress io.Writer
}

// Product is the product code of the minted keys.
const Product = "1AJS2"

// hangLimit bounds every wait of the harness: only a hang reaches it.
const hangLimit = 2 * time.Minute

func (c *Config) setDefaults() {
	if c.Cycles == 0 {
		c.Cycles = 100
	}
	if c.Concurrency == 0 {
		c.Concurrency = 8
	}
	if c.Licenses == 0 {
		c.Licenses = 8
	}
	if c.Seats == 0 {
		c.Seats = 2
	}
	if c.Installs == 0 {
		c.Installs = 2*c.Seats + 1
	}
	if c.RunMin == 0 && c.RunMax == 0 {
		c.RunMin, c.RunMax = 200*time.Millisecond, 1200*time.Millisecond
	}
	if c.RunMax == 0 {
		c.RunMax = c.RunMin
	}
	if c.Nodes == 0 {
		c.Nodes = 1
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64() | 1
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

func (c *Config) validate() error {
	switch {
	case c.Cycles < 1 || c.Cycles > 100000:
		return fmt.Errorf("%w: cycles %d not in 1..100000", ErrConfig, c.Cycles)
	case c.Concurrency < 1 || c.Concurrency > 1000:
		return fmt.Errorf("%w: concurrency %d not in 1..1000", ErrConfig, c.Concurrency)
	case c.Licenses < 1 || c.Licenses > 1000:
		return fmt.Errorf("%w: licenses %d not in 1..1000", ErrConfig, c.Licenses)
	case c.Seats < 1 || c.Seats > 1000:
		return fmt.Errorf("%w: seats %d not in 1..1000", ErrConfig, c.Seats)
	case c.Installs < 1 || c.Installs > 10000:
		return fmt.Errorf("%w: installs %d not in 1..10000", ErrConfig, c.Installs)
	case c.Concurrency > c.Licenses*c.Installs:
		return fmt.Errorf("%w: concurrency %d is more than the %d installs", ErrConfig, c.Concurrency, c.Licenses*c.Installs)
	case c.RunMin <= 0 || c.RunMax < c.RunMin || c.RunMax > time.Hour:
		return fmt.Errorf("%w: run time %v..%v: want 0 < min <= max <= 1h", ErrConfig, c.RunMin, c.RunMax)
	case c.Nodes < 1 || c.Nodes > 16:
		return fmt.Errorf("%w: nodes %d not in 1..16", ErrConfig, c.Nodes)
	case c.Nodes > 1 && c.Store == "":
		return fmt.Errorf("%w: %d nodes without a shared store: several gateways need a PostgreSQL store", ErrConfig, c.Nodes)
	case c.Store != "" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://"):
		return fmt.Errorf("%w: the store's connection string is not a postgres:// URL", ErrConfig)
	}
	return nil
}

// Result is what a run found.
type Result struct {
	Seed          uint64
	Cycles        int // kills done
	Activations   int // acknowledged activations
	Deactivations int // acknowledged deactivations
	Refused       int // activations refused with NO_SEATS (acknowledged too)
	Lost          int // acknowledged states the store contradicted
	OverSeat      int // checks that found a license with more machines than seats
	Ambiguous     int // requests in flight at a kill (reconciled from the store)
	Unexpected    int // answers the model has no place for (another status, an error before the kill)
	Notes         []string
	Elapsed       time.Duration
}

// Acknowledged is the number of answers the model holds the store to.
func (r *Result) Acknowledged() int { return r.Activations + r.Deactivations + r.Refused }

// OK reports whether the store kept its word: nothing lost, no license
// over its seats, and no answer out of the model.
func (r *Result) OK() bool { return r.Lost == 0 && r.OverSeat == 0 && r.Unexpected == 0 }

// String is the summary line.
func (r *Result) String() string {
	s := fmt.Sprintf("crash: %d cycles, %d acknowledged (%d activations, %d deactivations, %d NO_SEATS refusals), %d lost, %d over-seat, %d ambiguous",
		r.Cycles, r.Acknowledged(), r.Activations, r.Deactivations, r.Refused, r.Lost, r.OverSeat, r.Ambiguous)
	if r.Unexpected > 0 {
		s += fmt.Sprintf(", %d unexpected", r.Unexpected)
	}
	return s
}

const maxNotes = 20

func (r *Result) note(format string, args ...any) {
	if len(r.Notes) < maxNotes {
		r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
	}
}

// state is what the model knows of one install.
type state uint8

const (
	inactive   state = iota // acknowledged inactive (or never activated)
	active                  // acknowledged active
	inFlight                // a request was in flight at the kill
	unexpected              // an answer out of the model; the store decides
)

// license is one minted key. The key never leaves this package.
type license struct {
	key   keygen.Key
	id    [wire.LicenseIDSize]byte
	ref   string // a prefix of the id, for messages
	seats int
}

// install is one installation of a program: its own install key and
// fingerprint, bound to one license. During a cycle, only the worker that
// holds busy touches it; between cycles, only Run.
type install struct {
	lic     *license
	name    string // hostname sent with activations, and in messages
	key     channel.PrivateKey
	fp      wire.Fingerprint
	busy    atomic.Bool
	state   state
	counter uint64 // validation counter: strictly increasing
	client  *clients.Client
}

// tally counts the answers of one cycle. Safe for concurrent use.
type tally struct {
	mu                                 sync.Mutex
	activations, deactivations, refuse int
	lost, unexpected, ambiguous        int
	notes                              []string
}

func (t *tally) add(f func(t *tally)) {
	t.mu.Lock()
	f(t)
	t.mu.Unlock()
}

// Run runs the harness. It returns an error when it could not run (a
// build, a start, a hang); what it found is in the Result, even then.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	cfg.setDefaults()
	res = &Result{Seed: cfg.Seed}
	if err := cfg.validate(); err != nil {
		return res, err
	}
	start := time.Now()
	defer func() { res.Elapsed = time.Since(start) }()

	work, err := os.MkdirTemp("", "tollgate-crash-")
	if err != nil {
		return res, fmt.Errorf("crash: temporary directory: %w", err)
	}
	defer func() {
		if cfg.Keep {
			fmt.Fprintf(cfg.Progress, "crash: kept %s\n", work)
			return
		}
		os.RemoveAll(work)
	}()
	bin := cfg.Tollgate
	if bin == "" {
		if bin, err = build(ctx, work); err != nil {
			return res, err
		}
	}
	data := cfg.Data
	if data == "" {
		data = filepath.Join(work, "data")
	}
	g := &gateway{bin: bin, data: data}
	if err := g.init(ctx, cfg.Store); err != nil {
		return res, err
	}
	nodes := []*gateway{g}
	for k := 2; k <= cfg.Nodes; k++ {
		n, err := g.node(filepath.Join(work, fmt.Sprintf("node%d", k)))
		if err != nil {
			return res, err
		}
		nodes = append(nodes, n)
	}
	lics, err := g.mint(ctx, cfg.Licenses, cfg.Seats)
	if err != nil {
		return res, err
	}
	installs, err := newInstalls(lics, cfg.Installs)
	if err != nil {
		return res, err
	}
	defer killAll(nodes) // on every failure path: no gateway outlives the run
	defer closeClients(installs)
	where := "the embedded store"
	if cfg.Store != "" {
		where = fmt.Sprintf("%d gateway(s) on one PostgreSQL store", cfg.Nodes)
	}
	fmt.Fprintf(cfg.Progress, "crash: seed %d, %d cycles, %d workers, %d licenses of %d seats, %d installs each, %s\n",
		cfg.Seed, cfg.Cycles, cfg.Concurrency, cfg.Licenses, cfg.Seats, cfg.Installs, where)

	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7011_9a7e))
	for c := 1; c <= cfg.Cycles; c++ {
		began := time.Now()
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := startAll(ctx, nodes); err != nil {
			return res, err
		}
		if err := check(ctx, nodes, c, installs, lics, res); err != nil {
			return res, err
		}
		runFor := cfg.RunMin + time.Duration(rng.Int64N(int64(cfg.RunMax-cfg.RunMin)+1))
		killedAfter, err := load(ctx, nodes, installs, cfg.Concurrency, runFor, rng.Uint64(), res)
		if err != nil {
			return res, err
		}
		res.Cycles++
		fmt.Fprintf(cfg.Progress, "cycle %d/%d: %v, killed after %v of load; %d acknowledged so far, %d lost, %d over-seat, %d ambiguous\n",
			c, cfg.Cycles, time.Since(began).Round(time.Millisecond), killedAfter.Round(time.Millisecond), res.Acknowledged(), res.Lost, res.OverSeat, res.Ambiguous)
	}

	// After the last kill: one more check through the gateways, a
	// graceful stop, and the seat counts straight from the store.
	if err := startAll(ctx, nodes); err != nil {
		return res, err
	}
	err = check(ctx, nodes, cfg.Cycles+1, installs, lics, res)
	closeClients(installs)
	if err != nil {
		return res, err
	}
	for _, n := range nodes {
		if err := n.stop(); err != nil {
			return res, err
		}
	}
	for _, l := range lics {
		used, seats, err := g.show(ctx, l)
		if err != nil {
			return res, err
		}
		want := 0
		for _, in := range installs {
			if in.lic == l && in.state == active {
				want++
			}
		}
		switch {
		case used > seats:
			res.OverSeat++
			res.note("license %s: the store holds %d activations of %d seats", l.ref, used, seats)
		case used != want:
			res.Lost++
			res.note("license %s: the store holds %d activations, the installs' validations found %d", l.ref, used, want)
		}
	}
	fmt.Fprintf(cfg.Progress, "crash: final check of %d licenses in the stopped store done\n", len(lics))
	return res, nil
}

// newInstalls makes n installs for each license, each with its own install
// key and a fingerprint of its own.
func newInstalls(lics []*license, n int) ([]*install, error) {
	var out []*install
	for i, l := range lics {
		for j := 0; j < n; j++ {
			k, err := channel.GenerateKey(nil)
			if err != nil {
				return nil, fmt.Errorf("crash: install key: %w", err)
			}
			name := fmt.Sprintf("crash-l%d-i%d", i, j)
			fp := clients.Fingerprint(Product, []clients.RawComponent{
				{Kind: wire.KindMachineID, Value: "machine-" + name},
				{Kind: wire.KindMAC, Value: fmt.Sprintf("02:00:00:%02x:%02x:%02x", i>>8, i&0xff, j&0xff)},
				{Kind: wire.KindDisk, Value: "disk-" + name},
			})
			out = append(out, &install{lic: l, name: name, key: k, fp: fp})
		}
	}
	return out, nil
}

// startAll starts every node, one after the other.
func startAll(ctx context.Context, nodes []*gateway) error {
	for _, n := range nodes {
		if err := n.start(ctx); err != nil {
			return err
		}
	}
	return nil
}

// killAll SIGKILLs every running node and returns the first error.
func killAll(nodes []*gateway) error {
	var first error
	for _, n := range nodes {
		if err := n.kill(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// check validates every install through the running gateways, which read
// the store as the last kill left it, holds the answers against the model,
// and takes the store's word for the installs the model had no answer for.
// Every install gets a fresh client, for the node that cycle picks for it:
// install i goes to node (i+cycle) mod len(nodes), so that with several
// nodes what one acknowledged is checked through another.
func check(ctx context.Context, nodes []*gateway, cycle int, installs []*install, lics []*license, res *Result) error {
	ctx, cancel := context.WithTimeout(ctx, hangLimit)
	defer cancel()
	found := make([]state, len(installs))
	errs := make([]error, len(installs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, in := range installs {
		if in.client != nil {
			in.client.Close()
		}
		in.client = nodes[(i+cycle)%len(nodes)].client(in.key)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			in.counter++
			_, err := in.client.Validate(ctx, in.lic.id, in.fp, in.counter, false)
			switch wire.StatusOf(err) {
			case wire.StatusOK:
				found[i] = active
			case wire.StatusNotActivated:
				found[i] = inactive
			default:
				found[i], errs[i] = unexpected, err
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("crash: checking the installs after a restart: %w", err)
	}
	perLicense := make(map[*license]int)
	for i, in := range installs {
		got := found[i]
		if got == unexpected {
			res.Unexpected++
			res.note("%s (license %s): validation after restart: %v", in.name, in.lic.ref, errs[i])
			in.state = unexpected
			continue
		}
		if got == active {
			perLicense[in.lic]++
		}
		switch in.state {
		case inFlight, unexpected:
			// Counted when it happened; the store decides.
		case active, inactive:
			if got != in.state {
				res.Lost++
				what := "an acknowledged activation is gone"
				if got == active {
					what = "an acknowledged deactivation (or NO_SEATS refusal) holds a seat"
				}
				res.note("%s (license %s): %s", in.name, in.lic.ref, what)
			}
		}
		in.state = got
	}
	for _, l := range lics {
		if n := perLicense[l]; n > l.seats {
			res.OverSeat++
			res.note("license %s: %d installs validate, of %d seats", l.ref, n, l.seats)
		}
	}
	return nil
}

// load runs workers against the gateways for runFor and at least until the
// first acknowledged answer, SIGKILLs them, and folds what was acknowledged
// into res. It returns how long load ran before the kill.
func load(ctx context.Context, nodes []*gateway, installs []*install, workers int, runFor time.Duration, seed uint64, res *Result) (time.Duration, error) {
	loadCtx, cancelLoad := context.WithCancel(ctx)
	defer cancelLoad()
	var t tally
	var killed atomic.Bool // set just before the SIGKILL: no new requests
	var acked atomic.Int64 // answers this cycle
	var wg sync.WaitGroup
	began := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			// Bounded by count as well as by the kill.
			for op, misses := 0, 0; op < 10_000_000 && !killed.Load(); op++ {
				in := installs[rng.IntN(len(installs))]
				if !in.busy.CompareAndSwap(false, true) {
					if misses++; misses%64 == 0 {
						time.Sleep(time.Millisecond)
					}
					continue
				}
				// An install whose state is unknown waits for the check.
				if in.state >= inFlight {
					in.busy.Store(false)
					if misses++; misses%64 == 0 {
						time.Sleep(time.Millisecond)
					}
					continue
				}
				if toggle(loadCtx, in, &killed, &t) {
					acked.Add(1)
				}
				in.busy.Store(false)
			}
		}(w)
	}

	// The kill: after runFor, once something was acknowledged this cycle.
	deadline := time.Now().Add(hangLimit)
	timer := time.NewTimer(runFor)
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
	for acked.Load() == 0 && ctx.Err() == nil {
		if time.Now().After(deadline) {
			killed.Store(true)
			cancelLoad()
			wg.Wait()
			return 0, fmt.Errorf("%w: no answer to any request within %v of load", ErrHang, hangLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ranFor := time.Since(began)
	killed.Store(true)
	kerr := killAll(nodes)
	cancelLoad() // what is still in flight gets no answer now
	wg.Wait()
	closeClients(installs)
	res.Activations += t.activations
	res.Deactivations += t.deactivations
	res.Refused += t.refuse
	res.Lost += t.lost
	res.Unexpected += t.unexpected
	res.Ambiguous += t.ambiguous
	for _, n := range t.notes {
		res.note("%s", n)
	}
	if kerr != nil {
		return ranFor, kerr
	}
	return ranFor, ctx.Err()
}

func closeClients(installs []*install) {
	for _, in := range installs {
		if in.client != nil {
			in.client.Close()
			in.client = nil
		}
	}
}

// toggle activates in if inactive, deactivates it if active, and records
// the answer. It reports whether the gateway answered.
func toggle(ctx context.Context, in *install, killed *atomic.Bool, t *tally) bool {
	var err error
	wasActive := in.state == active
	if wasActive {
		err = in.client.Deactivate(ctx, in.lic.id)
	} else {
		var r *clients.ActivateResult
		r, err = in.client.Activate(ctx, in.lic.key, in.fp, in.name, "crash")
		if err == nil && r.LicenseID != in.lic.id {
			in.state = unexpected
			t.add(func(t *tally) {
				t.unexpected++
				t.notes = append(t.notes, fmt.Sprintf("%s: activation of license %s answered for another license", in.name, in.lic.ref))
			})
			return true
		}
	}
	var se *wire.StatusError
	switch {
	case err == nil && wasActive:
		in.state = inactive
		t.add(func(t *tally) { t.deactivations++ })
	case err == nil:
		in.state = active
		t.add(func(t *tally) { t.activations++ })
	case !errors.As(err, &se):
		// No answer. Expected of a request in flight at the kill; before
		// it, nothing should fail this way.
		if killed.Load() {
			in.state = inFlight
			t.add(func(t *tally) { t.ambiguous++ })
			return false
		}
		in.state = unexpected
		t.add(func(t *tally) {
			t.unexpected++
			t.notes = append(t.notes, fmt.Sprintf("%s (license %s): no answer before the kill: %v", in.name, in.lic.ref, err))
		})
		return false
	case !wasActive && se.Status == wire.StatusNoSeats:
		t.add(func(t *tally) { t.refuse++ })
	case wasActive && se.Status == wire.StatusNotActivated:
		// The gateway says the acknowledged activation is not there.
		in.state = inactive
		t.add(func(t *tally) {
			t.lost++
			t.notes = append(t.notes, fmt.Sprintf("%s (license %s): deactivation answered NOT_ACTIVATED after an acknowledged activation", in.name, in.lic.ref))
		})
	default:
		in.state = unexpected
		t.add(func(t *tally) {
			t.unexpected++
			t.notes = append(t.notes, fmt.Sprintf("%s (license %s): unexpected answer: %v", in.name, in.lic.ref, se.Status))
		})
	}
	return true
}
