// Command tollgate-crash is Tollgate's crash harness (`make crash`): it
// SIGKILLs a real gateway process again and again under concurrent
// activations and deactivations, and checks after each restart that every
// acknowledged outcome is in the store and no license has more machines
// than seats.
//
// It is thin: it parses flags into a crash.Config and calls crash.Run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tollgate/tollgate/bench/crash"
	"github.com/tollgate/tollgate/bench/pgdb"
)

const usage = `tollgate-crash SIGKILLs a Tollgate gateway under load and checks its store.

Usage:
  tollgate-crash [flags]

It builds the tollgate command from this module (or takes --tollgate),
initialises a data directory, mints --licenses keys of --seats seats with
'tollgate keys mint', and gives each key --installs installs that race for
its seats. Then, --cycles times: 'tollgate serve' on a free loopback port;
every install validated over QUIC (the state the last kill left);
--concurrency workers activating inactive installs and deactivating active
ones for a random time in --run-min..--run-max (and until something was
acknowledged); SIGKILL. After the last cycle the gateway is checked once
more, stopped gracefully, and 'tollgate license show' reads each license's
seats in use straight from the store.

With --store the gateway keeps its state in PostgreSQL: the harness
creates a new database (tollgate_crash_ and 16 hex digits) on the server
that URL names (a role with CREATEDB; its own database is only used to
create and drop ours) and drops it at the end, unless --keep. With
--nodes N, N gateways share that database and one identity, each from its
own data directory and port; each cycle SIGKILLs them all, and an install
is checked through another node than the one it was loaded on. The URL
may hold a password: it is never printed.

  lost       an acknowledged activation gone after a restart, an acknowledged
             deactivation (or NO_SEATS refusal) holding a seat
  over-seat  a license found with more machines than seats
  ambiguous  a request in flight at a kill: it may have landed or not; the
             next check takes the store's word for it

Progress goes to standard error, a line a cycle; the summary line to
standard output. Licenses are named by a prefix of their id, never by key.

Exit status: 0 nothing lost and no license over its seats, 1 something
lost, over-seat or unexpected, or the run failed, 2 bad flags,
130 interrupted.

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tollgate-crash", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var cfg crash.Config
	fs.IntVar(&cfg.Cycles, "cycles", 100, "SIGKILL cycles")
	fs.IntVar(&cfg.Concurrency, "concurrency", 8, "workers activating and deactivating at once")
	fs.IntVar(&cfg.Licenses, "licenses", 8, "license keys minted")
	fs.IntVar(&cfg.Seats, "seats", 2, "seats of each key")
	fs.IntVar(&cfg.Installs, "installs", 0, "installs racing for each key's seats (default 2*seats+1)")
	fs.DurationVar(&cfg.RunMin, "run-min", 200*time.Millisecond, "shortest load before a kill")
	fs.DurationVar(&cfg.RunMax, "run-max", 1200*time.Millisecond, "longest load before a kill (the moment is uniform in between)")
	fs.StringVar(&cfg.Tollgate, "tollgate", "", "the tollgate binary (default: go build it into a temporary directory)")
	fs.StringVar(&cfg.Data, "data", "", "data directory, which must not hold a gateway yet; kept (default: a temporary one, removed at the end unless --keep)")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the temporary directory (binary and data) and print its path")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the choices of installs and kill moments (default: random, printed)")
	server := fs.String("store", "", "a PostgreSQL server, as postgres://USER:PASSWORD@HOST:5432/postgres: the gateways keep their state in a new database on it (default: the embedded store)")
	fs.IntVar(&cfg.Nodes, "nodes", 1, "gateways sharing the --store database, each on its own port")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "tollgate-crash: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if cfg.Cycles == 0 || cfg.Concurrency == 0 || cfg.Licenses == 0 || cfg.Seats == 0 {
		fmt.Fprintln(stderr, "tollgate-crash: --cycles, --concurrency, --licenses and --seats must be at least 1")
		return 2
	}
	if cfg.Nodes < 1 || (cfg.Nodes > 1 && *server == "") {
		fmt.Fprintln(stderr, "tollgate-crash: --nodes must be at least 1, and more than one needs --store")
		return 2
	}
	cfg.Progress = stderr
	if *server != "" {
		db, err := pgdb.Create(ctx, *server, "tollgate_crash_")
		if err != nil {
			fmt.Fprintln(stderr, "tollgate-crash:", err)
			return 1
		}
		fmt.Fprintf(stderr, "crash: store: %s\n", db.Where())
		defer func() {
			if cfg.Keep {
				fmt.Fprintf(stderr, "crash: kept %s\n", db.Where())
				return
			}
			if err := db.Drop(context.WithoutCancel(ctx)); err != nil {
				fmt.Fprintln(stderr, "tollgate-crash:", err)
			}
		}()
		cfg.Store = db.URL
	}
	res, err := crash.Run(ctx, cfg)
	for _, n := range res.Notes {
		fmt.Fprintln(stderr, "crash:", n)
	}
	if res.Cycles > 0 || err == nil {
		fmt.Fprintf(stdout, "%s (seed %d, %v)\n", res, res.Seed, res.Elapsed.Round(time.Second))
	}
	switch {
	case errors.Is(err, crash.ErrConfig):
		fmt.Fprintln(stderr, "tollgate-crash:", err)
		return 2
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "tollgate-crash: interrupted")
		return 130
	case err != nil:
		fmt.Fprintln(stderr, "tollgate-crash:", err)
		return 1
	case !res.OK():
		return 1
	}
	return 0
}
