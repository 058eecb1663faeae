// Command tollgate-bench loads a Tollgate gateway and reports throughput,
// latency percentiles, the gateway's CPU time per request and, with
// --ceiling, how close it comes to bare quic-go with the same shape of
// load on the same machine.
//
// It is thin: it parses flags into a bench.Config and calls bench.Run.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tollgate/tollgate/bench"
	"github.com/tollgate/tollgate/bench/pgdb"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

const usage = `tollgate-bench loads a Tollgate gateway over QUIC on loopback.

Usage:
  tollgate-bench [--scenario NAME[,NAME...]|all] [flags]                  (embedded: the default)
  tollgate-bench --addr HOST:PORT --card FILE [--pid PID] [--keys FILE] [--shop-key FILE] [flags]

Scenarios:
  validate     Conns connections, Inflight validations in flight on each, of --licenses activated licenses
  activate     fresh keys activated by fresh machines (durable writes, lease signing); signing alone is measured too
  handshake    a new connection and Noise session per validation, --conns at a time
  mint         shops minting batches of --batch keys over the shop channel, one shop per connection
  mixed        90% validate, 5% handshake, 4% activate, 1% deactivate (--mix)
  ceiling      the bare quic-go echo alone, with validate's frame sizes
  idle-memory  --sessions idle sessions; gateway RSS per session against a bare quic-go server's per connection
  flood        validate's load alone, then under --flood-rate QUIC Initials/s from 127.0.1.x that never
               answer; validations/s with and without, the gateway's RSS before, at peak and after
  revoke-delay with --store and 2 nodes (the default for it): --revocations times, a license
               activated through node A, validated through node B (which caches it), revoked by
               its shop through node A; the time from the revocation's answer to node B's first
               REVOKED validation (validating in a tight loop): p50, p99, max
  mint-http    one shop's orders of 1, 10 and 1,000 keys, --inflight at a time for --duration each,
               through the shop's HTTP bridge (an in-process bridge.Server on loopback) and through
               the Go shop client (in half windows: client, bridge, bridge, client): orders/s,
               keys/s and the ratio; then --activations activations,
               --conns at a time, and the bridge's webhook delivery of their events: events/s and
               the delay from each activation's answer to its webhook's 2xx (p50, p99)
  all          validate, activate, handshake, mint, mixed and idle-memory, then a table (not flood:
               it loads the whole machine and holds the packets it sends, a few hundred MB)

Embedded (the default), the gateway is prepared in a temporary directory
(identity, demo catalogue, the licenses and shops the scenario needs) and
served by a child process, so that its CPU time and memory are its own; the
ceiling's echo server is a child process too. Both are stopped and the
directory removed at the end, Ctrl-C included.

With --store postgres://USER:PASSWORD@HOST:5432/postgres (a role with
CREATEDB), the embedded gateway keeps its state in PostgreSQL: each
scenario gets a new database on that server (tollgate_bench_ and 16 hex
digits), which the bench fills and drops at the end. With --nodes N (and
--store), N gateway child processes share that database and one
identity, each on its own loopback port; the connections go to them in
turn, and the gateway's CPU time and memory are all nodes' together
(--gateway-cpuprofile profiles the first). The URL may hold a password:
it is never printed.

Against a gateway started separately (--addr and --card), the scenario needs
licenses that exist there with a free seat: --keys FILE, one key a line (what
'tollgate keys mint' prints). validate, handshake, idle-memory and mixed
activate them first and deactivate them at the end; activate activates them
(and deactivates them at the end) so that the file serves again; mint needs
--shop-key, the private key file of a shop registered for 127.0.0.1/32 and
--product ('tollgate-shop keygen', 'tollgate shop add'), and mints real keys;
so does mint-http, which also activates --activations of them.
The gateway's CPU time and memory are measured only with --pid.

Output: a progress line on standard error about once a second, then a
summary on standard output, or with --json one JSON object (several
scenarios: {"results": [...]}). --report writes an HTML page with the
latency-by-percentile and throughput-over-time charts.

Exit status: 0 done, 1 the run failed, 2 bad flags, 130 interrupted.

Flags:
`

func main() {
	bench.RunChildIfRequested()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a bad flag or flag value: exit status 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }

func bad(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// options is what the flags say beyond a bench.Config.
type options struct {
	scenarios  []bench.Scenario
	server     string // --store: the PostgreSQL server each scenario gets a database on
	json       bool
	report     string
	cpuprofile string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, opt, err := parse(args, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "tollgate-bench:", err)
		fmt.Fprintln(stderr, "run 'tollgate-bench --help' for the flags")
		return 2
	}
	if opt.cpuprofile != "" {
		f, err := os.Create(opt.cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "tollgate-bench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "tollgate-bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	var results []*bench.Result
	code := 0
	for _, s := range opt.scenarios {
		c := cfg
		c.Scenario = s
		r, err := runOne(ctx, c, opt.server, stderr)
		if errors.Is(err, bench.ErrConfig) {
			fmt.Fprintln(stderr, "tollgate-bench:", err)
			return 2
		}
		if err != nil {
			fmt.Fprintf(stderr, "tollgate-bench: %s: %v\n", s, err)
			code = 1
		}
		if r != nil {
			results = append(results, r)
			if !opt.json {
				r.WriteText(stdout)
				fmt.Fprintln(stdout)
			}
		}
		if ctx.Err() != nil {
			code = 130
			break
		}
		if err != nil {
			break
		}
	}
	if opt.json {
		var v any = map[string]any{"results": results}
		if len(opt.scenarios) == 1 && len(results) == 1 {
			v = results[0]
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			fmt.Fprintln(stderr, "tollgate-bench:", err)
			return 1
		}
	} else if len(opt.scenarios) > 1 && len(results) > 0 {
		bench.WriteTable(stdout, results)
	}
	if opt.report != "" && len(results) > 0 {
		f, err := os.Create(opt.report)
		if err == nil {
			err = bench.WriteReport(f, results)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "tollgate-bench: report:", err)
			return 1
		}
	}
	return code
}

// runOne runs one scenario; with server, on a new database on it, dropped
// at the end.
func runOne(ctx context.Context, cfg bench.Config, server string, stderr io.Writer) (*bench.Result, error) {
	if server == "" {
		return bench.Run(ctx, cfg)
	}
	db, err := pgdb.Create(ctx, server, "tollgate_bench_")
	if err != nil {
		return nil, err
	}
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "%s: store %s\n", cfg.Scenario, db.Where())
	}
	cfg.Store = db.URL
	r, err := bench.Run(ctx, cfg)
	if derr := db.Drop(context.WithoutCancel(ctx)); derr != nil {
		fmt.Fprintln(stderr, "tollgate-bench:", derr)
	}
	return r, err
}

func parse(args []string, stdout, stderr io.Writer) (bench.Config, options, error) {
	var cfg bench.Config
	var opt options
	fs := flag.NewFlagSet("tollgate-bench", flag.ContinueOnError)
	// Errors are reported by run, once; --help prints the usage on
	// standard output.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	scenario := fs.String("scenario", "validate", "scenario, a comma-separated list, or all (see above)")
	embedded := fs.Bool("embedded", true, "start the gateway as a child process in a temporary directory (the default; false needs --addr)")
	fs.StringVar(&cfg.Addr, "addr", "", "HOST:PORT of a gateway started separately, instead of an embedded one")
	card := fs.String("card", "", "server card FILE of the gateway at --addr")
	fs.IntVar(&cfg.PID, "pid", 0, "process id of the gateway at --addr, to measure its CPU time and memory (Linux)")
	keys := fs.String("keys", "", "FILE of license keys (one a line, with free seats) of the gateway at --addr")
	shopKey := fs.String("shop-key", "", "private key FILE of a shop registered with the gateway at --addr (mint)")
	fs.StringVar(&cfg.Product, "product", "1AJS2", "product code of the embedded gateway's keys and of mint's orders")
	fs.IntVar(&cfg.Conns, "conns", 0, "QUIC connections (handshake, idle-memory: opened at a time); 0: the scenario's default")
	fs.IntVar(&cfg.Streams, "streams", 0, "Noise sessions (QUIC streams) per connection; 0: the scenario's default")
	fs.IntVar(&cfg.Inflight, "inflight", 0, "requests in flight per connection, shared by its streams; 0: the scenario's default")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured window of each phase")
	warmup := fs.Duration("warmup", time.Second, "load before each measured window (0 for none)")
	rate := fs.String("rate", "", "open loop: N requests per second, or Fx to run a closed loop first and then F times its throughput (0.5x)")
	fs.BoolVar(&cfg.Ceiling, "ceiling", false, "run the bare quic-go echo with the same shape right after, and report the ratio")
	jsonOut := fs.Bool("json", false, "print one JSON object instead of the summary")
	fs.StringVar(&opt.report, "report", "", "write an HTML report with latency and throughput charts to FILE")
	fs.IntVar(&cfg.Licenses, "licenses", 0, "distinct licenses validated (validate, mixed); 0: 10000 embedded, else from --keys")
	fs.IntVar(&cfg.Pool, "pool", 0, "fresh keys the embedded gateway mints for activate and mixed; 0: enough for the run")
	fs.IntVar(&cfg.Batch, "batch", 10000, "keys per mint request (1 to 10000)")
	fs.IntVar(&cfg.Sessions, "sessions", 10000, "idle sessions held open (idle-memory)")
	mix := fs.String("mix", "validate=90,handshake=5,activate=4,deactivate=1", "mixed's weights")
	scheme := fs.String("scheme", "mldsa44-ed25519", "lease signature of the embedded gateway: mldsa44-ed25519 or mldsa65-ed25519")
	fs.StringVar(&cfg.GatewayCPUProfile, "gateway-cpuprofile", "", "write the embedded gateway's CPU profile of the measured windows to FILE")
	fs.StringVar(&cfg.GatewayTrace, "gateway-trace", "", "write the embedded gateway's execution trace (runtime/trace), from the first measured window on, to FILE")
	fs.StringVar(&cfg.GatewayMemProfile, "gateway-memprofile", "", "write the embedded gateway's heap profile to FILE each time its memory is measured (idle-memory)")
	fs.Int64Var(&cfg.GatewayCacheEntries, "cache-entries", 0, "the embedded gateway's cache_entries (hot cache size, in activations); 0: the gateway's default")
	fs.IntVar(&cfg.GatewayLeaseBatch, "lease-batch", 0, "the embedded gateway's lease_batch (most leases per signature, 1 to 64; 1: each alone); 0: the gateway's default, 64 (activate also loads it with 1 first)")
	fs.Float64Var(&cfg.FloodRate, "flood-rate", bench.DefaultFloodRate, "QUIC Initial packets a second (flood)")
	fs.Float64Var(&cfg.FloodUndecryptable, "flood-undecryptable", bench.DefaultFloodUndecryptable, "share of the flood's Initials that do not decrypt, 0 to 1 (flood)")
	fs.IntVar(&cfg.FloodSources, "flood-sources", bench.DefaultFloodSources, "loopback addresses the flood comes from, 127.0.1.1 and up (flood)")
	fs.BoolVar(&cfg.GatewayNoAdmission, "no-admission", false, "run the embedded gateway with its admission limits off: no Retry, no caps (flood without the defence)")
	fs.StringVar(&opt.server, "store", "", "a PostgreSQL server, postgres://USER:PASSWORD@HOST:5432/postgres: the embedded gateway keeps its state in a new database on it, one per scenario, dropped at the end")
	fs.IntVar(&cfg.Nodes, "nodes", 0, "embedded gateways sharing the --store database, each on its own port; the connections go to them in turn (0: 1, 2 for revoke-delay)")
	fs.IntVar(&cfg.Revocations, "revocations", 200, "licenses revoked, one at a time (revoke-delay)")
	fs.IntVar(&cfg.Activations, "activations", 200, "activations whose events are delivered to a webhook (mint-http)")
	fs.StringVar(&opt.cpuprofile, "cpuprofile", "", "write the load generator's own CPU profile to FILE")
	quiet := fs.Bool("quiet", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return cfg, opt, err
		}
		return cfg, opt, usageError{err}
	}
	if fs.NArg() > 0 {
		return cfg, opt, bad("unexpected argument %q", fs.Arg(0))
	}
	opt.json = *jsonOut
	if !*quiet {
		cfg.Progress = stderr
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	for _, name := range strings.Split(*scenario, ",") {
		name = strings.TrimSpace(name)
		if name == "all" {
			opt.scenarios = append(opt.scenarios, bench.Validate, bench.Activate, bench.Handshake, bench.Mint, bench.Mixed, bench.IdleMemory)
			continue
		}
		found := false
		for _, s := range bench.Scenarios {
			if string(s) == name {
				opt.scenarios, found = append(opt.scenarios, s), true
			}
		}
		if !found {
			return cfg, opt, bad("--scenario: unknown scenario %q", name)
		}
	}
	if cfg.Addr == "" && !*embedded {
		return cfg, opt, bad("--embedded=false needs --addr")
	}
	if cfg.Addr != "" && set["embedded"] && *embedded {
		return cfg, opt, bad("--embedded and --addr exclude each other")
	}
	if *warmup == 0 {
		cfg.Warmup = -1
	} else {
		cfg.Warmup = *warmup
	}
	if *warmup < 0 {
		return cfg, opt, bad("--warmup: negative")
	}
	if cfg.Duration <= 0 {
		return cfg, opt, bad("--duration must be positive")
	}
	if *rate != "" {
		if f, ok := strings.CutSuffix(*rate, "x"); ok {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil || v <= 0 || v > 1 {
				return cfg, opt, bad("--rate %q: a fraction is a number in (0, 1] followed by x, such as 0.5x", *rate)
			}
			cfg.RateFraction = v
		} else {
			v, err := strconv.ParseFloat(*rate, 64)
			if err != nil || v <= 0 {
				return cfg, opt, bad("--rate %q: requests per second, a positive number, or a fraction such as 0.5x", *rate)
			}
			cfg.Rate = v
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"conns", cfg.Conns}, {"streams", cfg.Streams}, {"inflight", cfg.Inflight}, {"licenses", cfg.Licenses}, {"pool", cfg.Pool}, {"pid", cfg.PID}} {
		if f.v < 0 {
			return cfg, opt, bad("--%s: negative", f.name)
		}
	}
	if set["batch"] && (cfg.Batch < 1 || cfg.Batch > wire.MaxMintCount) {
		return cfg, opt, bad("--batch %d: not in 1..%d", cfg.Batch, wire.MaxMintCount)
	}
	if cfg.FloodRate <= 0 || cfg.FloodUndecryptable < 0 || cfg.FloodUndecryptable > 1 || cfg.FloodSources < 1 {
		return cfg, opt, bad("--flood-rate must be positive, --flood-undecryptable between 0 and 1, --flood-sources at least 1")
	}
	if cfg.FloodUndecryptable == 0 {
		cfg.FloodUndecryptable = -1 // none (zero in a Config means the default)
	}
	if cfg.Sessions < 1 {
		return cfg, opt, bad("--sessions %d: not positive", cfg.Sessions)
	}
	var err error
	if cfg.Mix, err = parseMix(*mix); err != nil {
		return cfg, opt, bad("--mix: %v", err)
	}
	if cfg.Scheme, err = gateway.ParseScheme(*scheme); err != nil {
		return cfg, opt, bad("--scheme: %v", err)
	}
	if cfg.Nodes < 0 || cfg.Nodes > 16 || cfg.Revocations < 1 || cfg.Activations < 1 {
		return cfg, opt, bad("--nodes must be in 0..16, --revocations and --activations positive")
	}
	if cfg.Nodes > 1 && opt.server == "" {
		return cfg, opt, bad("--nodes %d needs --store: several gateways share a PostgreSQL store", cfg.Nodes)
	}
	if opt.server != "" && !strings.HasPrefix(opt.server, "postgres://") && !strings.HasPrefix(opt.server, "postgresql://") {
		return cfg, opt, bad("--store: not a postgres:// URL")
	}
	for _, s := range opt.scenarios {
		if s == bench.RevokeDelay && opt.server == "" {
			return cfg, opt, bad("revoke-delay needs --store (and two nodes, its default)")
		}
	}
	if cfg.Addr == "" {
		for _, n := range []string{"card", "pid", "keys", "shop-key"} {
			if set[n] {
				return cfg, opt, bad("--%s is for a gateway started separately: give --addr too", n)
			}
		}
		return cfg, opt, nil
	}
	if *card == "" {
		return cfg, opt, bad("--addr needs --card")
	}
	if set["store"] || set["nodes"] {
		return cfg, opt, bad("--store and --nodes are for the embedded gateway only")
	}
	if set["gateway-cpuprofile"] || set["gateway-trace"] || set["gateway-memprofile"] || set["cache-entries"] || set["no-admission"] || set["lease-batch"] {
		return cfg, opt, bad("--gateway-cpuprofile, --gateway-trace, --gateway-memprofile, --cache-entries, --no-admission and --lease-batch are for the embedded gateway only")
	}
	if cfg.GatewayCacheEntries < 0 {
		return cfg, opt, bad("--cache-entries: negative")
	}
	if cfg.Card, err = wire.LoadCard(*card); err != nil {
		return cfg, opt, bad("--card: %v", err)
	}
	if *keys != "" {
		if cfg.Keys, err = readKeys(*keys); err != nil {
			return cfg, opt, bad("--keys: %v", err)
		}
	}
	if *shopKey != "" {
		if cfg.ShopKey, err = channel.ReadPrivateKeyFile(*shopKey); err != nil {
			return cfg, opt, bad("--shop-key: %v", err)
		}
	}
	return cfg, opt, nil
}

// parseMix reads "validate=90,handshake=5,activate=4,deactivate=1".
func parseMix(s string) (bench.Mix, error) {
	var m bench.Mix
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		w, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || w < 0 {
			return m, fmt.Errorf("%q is not NAME=WEIGHT", part)
		}
		switch k {
		case "validate":
			m.Validate = w
		case "handshake":
			m.Handshake = w
		case "activate":
			m.Activate = w
		case "deactivate":
			m.Deactivate = w
		default:
			return m, fmt.Errorf("unknown operation %q (validate, handshake, activate, deactivate)", k)
		}
	}
	if m.Validate+m.Handshake+m.Activate+m.Deactivate <= 0 {
		return m, errors.New("the weights add up to nothing")
	}
	return m, nil
}

// readKeys reads license keys, one a line; blank lines and lines starting
// with # are skipped. Errors name the line, never the key.
func readKeys(path string) ([]keygen.Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var keys []keygen.Key
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := keygen.ParseKey(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: not a license key", path, n)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no keys", path)
	}
	return keys, nil
}
