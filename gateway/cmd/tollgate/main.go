// Command tollgate runs and administers a Tollgate license gateway.
//
// It is thin: it parses flags into a gateway.Config and calls the gateway
// package.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tollgate/tollgate/demo"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/atomicfile"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

const usage = `tollgate runs and administers a Tollgate license gateway.

Usage:
  tollgate init  --data DIR [--addr HOST:PORT[,HOST:PORT...]] [--scheme mldsa44-ed25519|mldsa65-ed25519] [--store postgres://...]
  tollgate card  --data DIR [--addr HOST:PORT[,HOST:PORT...]] [--write]
  tollgate serve --data DIR [--listen 127.0.0.1:7443] [--config FILE] [--log text|json]
  tollgate run   --data DIR [--listen 127.0.0.1:7443]   (init on first use, then serve)
  tollgate keys mint --data DIR --product CODE [--count N] [--seats N] [--years N | --months N | --days N | --perpetual] [--feature NAME]...
  tollgate keys list|rotate|retire --data DIR [--retire-after DATE | --after DATE KEYID]   (the lease-signing keys)
  tollgate keys transport|announce-transport|switch-transport|retire-transport --data DIR   (the Noise key and TLS certificate)
  tollgate product add|update --data DIR --code CODE [--name NAME] [--platform P] [--years N | --months N | --perpetual | --trial-days N]
                        [--seats N] [--max-seats N] [--site-license] [--feature NAME]... [--bundle CODE[,CODE]]... [--base CODE] [--level 1|2|3] [--online-days N] [--warn-days N] [--lease-days N]
                        [--keyless-trial DAYS [--trial-feature NAME]...]
                        [--floating [--checkout 15m]]   (concurrent seats: at most N machines at once)
  tollgate product list|show --data DIR [CODE]
  tollgate product messages set|unset|list --data DIR CODE [LANG ID [TEXT]]   (a product's own texts for its users, by language)
  tollgate product messages ids [--lang LANG]   (the message ids and the catalogue's texts)
  tollgate trial list --data DIR [--product CODE]   (keyless trials: machine, started, ends; counted)
  tollgate shop add|update --data DIR --name NAME --key noisepub:...|FILE.pub --network CIDR... --product CODE... [--quota N]
  tollgate shop list|remove --data DIR [NAME]
  tollgate license show|suspend|resume|revoke|renew|reset|unflag --data DIR [--years N | --months N | --days N | --perpetual] KEY|ID
  tollgate license flagged --data DIR   (keys activated on too many machines or networks: shared keys)
  tollgate license list --data DIR [--shop S] [--order O] [--product CODE] [--state S] [--flagged] [--expiring-before DATE]
                        [--limit N] [--after CURSOR] [--json | --csv]
  tollgate license deactivate-machine --data DIR KEY|ID MACHINE-ID   (frees one seat; the others stay)
  tollgate license answer  --data DIR REQUEST-FILE [--out LEASE-FILE]   (a machine that never goes online)
  tollgate license release --data DIR RELEASE-FILE   (frees such a machine's seat)
  tollgate backup  --data DIR --out FILE   (a running or stopped gateway; FILE holds its private keys, mode 0600)
  tollgate restore --in FILE --data DIR    (DIR must be new or empty)
  tollgate migrate      --data DIR [--status]   (a PostgreSQL store's schema: show it, or upgrade it)
  tollgate audit        --data DIR [--since 2006-01-02T15:04:05Z | --since 24h] [--verify]
  tollgate stats        --data DIR   (a running gateway's counters: sessions, answers by kind and status, store)
  tollgate demo         (a whole round trip, then floating seats, a trial, a bundle, a plug-in; leaves nothing running)

Every command but serve, run and demo takes --json: its answer, or its
error ({"error": {"code", "status", "message"}}), as one JSON object on
stdout. Flags may come before
or after the arguments. Exit status: 0 done, 1 failed, 2 not valid as given.

A license is named by its key or its id: the 32 hex digits 'license list'
prints, or the first 8 of them that logs and the audit log print.

The product, shop, license and audit commands work on a stopped gateway by
opening DIR, and on a running one through its admin socket DIR/run/admin.sock,
which answers only the gateway's user and root. With a PostgreSQL store
(init --store, or TOLLGATE_STORE) they work on the database directly, with or
without a gateway running anywhere. DIR must be writable by its
owner only (chmod 700 DIR), and owned by the gateway's user or root.

Run 'tollgate COMMAND --help' for what one command does and its flags.
`

func main() {
	restrictUmask()
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case !errors.As(err, new(errReported)):
		fmt.Fprintln(os.Stderr, "tollgate:", err)
	}
	os.Exit(exitStatus(err))
}

// run runs the command args. With --json among them, an error is written
// to stdout as {"error": {...}} and returned as errReported.
func run(args []string, stdout, stderr io.Writer) error {
	err := dispatch(args, stdout, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) || !slices.Contains(args, "--json") {
		return err
	}
	if werr := writeJSON(stdout, jsonError{Error: errorBody(err)}); werr != nil {
		return err
	}
	return errReported{err}
}

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError("no command given")
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "init":
		return cmdInit(rest, stdout, stderr)
	case "card":
		return cmdCard(rest, stdout, stderr)
	case "serve":
		return cmdServe(rest, stdout, stderr, false)
	case "run":
		return cmdServe(rest, stdout, stderr, true)
	case "backup":
		return cmdBackup(rest, stdout, stderr)
	case "migrate":
		return cmdMigrate(rest, stdout, stderr)
	case "restore":
		return cmdRestore(rest, stdout, stderr)
	case "license":
		if len(rest) > 0 && licenseListCommands[rest[0]] != nil {
			return licenseListCommands[rest[0]](rest[1:], stdout, stderr)
		}
		return cmdAdmin(cmd, rest, stdout, stderr)
	case "product", "shop", "audit", "stats", "keys", "trial":
		if cmd == "product" && len(rest) > 0 && rest[0] == "messages" {
			return cmdProductMessages(rest[1:], stdout, stderr)
		}
		return cmdAdmin(cmd, rest, stdout, stderr)
	case "demo":
		fs := newFlags("demo", stderr)
		if pos, err := parseFlags(fs, rest, stdout); err != nil {
			return err
		} else if len(pos) > 0 {
			return usageError("demo takes no arguments")
		}
		return demo.Run(context.Background(), stdout)
	}
	return usageError("unknown command %q; run 'tollgate help'", cmd)
}

func cmdInit(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", stderr)
	data := fs.String("data", "", "data directory (required)")
	addr := fs.String("addr", gateway.DefaultAddress, "public HOST:PORT written into the server card; several gateways of one deployment: HOST:PORT,HOST:PORT,... in order of preference")
	scheme := fs.String("scheme", "mldsa44-ed25519", "lease signature: mldsa44-ed25519 or mldsa65-ed25519")
	storeURL := fs.String("store", "", "PostgreSQL connection string of a store shared by several gateways (default: the embedded store in DIR)")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if err := needData(*data); err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("init takes no arguments, only flags")
	}
	s, err := gateway.ParseScheme(*scheme)
	if err != nil {
		return usageError("--scheme %q: use mldsa44-ed25519 or mldsa65-ed25519", *scheme)
	}
	if *storeURL != "" {
		// Reach the database and make its schema before writing anything.
		st, err := gateway.OpenStore(*data, gateway.StoreOptions{URL: *storeURL, Migrate: true, CacheEntries: 16})
		if err != nil {
			return err
		}
		st.Close()
	}
	id, err := gateway.Init(*data, s, strings.Split(*addr, ",")...)
	if err != nil {
		return err
	}
	if *storeURL != "" {
		if err := gateway.WriteStoreURL(id.Dir, *storeURL); err != nil {
			return err
		}
	}
	card := filepath.Join(id.Dir, gateway.FileCard)
	if asJSON(fs) {
		return writeJSON(stdout, map[string]string{"data": id.Dir, "card": card})
	}
	fmt.Fprintf(stdout, "initialised %s\nserver card: %s (embed it in your app; it holds only public keys)\n", id.Dir, card)
	return nil
}

func cmdCard(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("card", stderr)
	data := fs.String("data", "", "data directory (required)")
	addr := fs.String("addr", "", "public HOST:PORT apps connect to, or HOST:PORT,HOST:PORT,... for several gateways in order of preference (default: those in the card)")
	write := fs.Bool("write", false, "also rewrite DIR/server.card with --addr (same keys); a running gateway keeps the card it loaded")
	if _, err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := needData(*data); err != nil {
		return err
	}
	if *write && *addr == "" {
		return usageError("--write needs --addr: the addresses to write into the card")
	}
	var card *wire.Card
	var err error
	switch {
	case *write:
		card, err = gateway.SetCardAddresses(*data, strings.Split(*addr, ","))
	default:
		if card, err = wire.LoadCard(filepath.Join(*data, gateway.FileCard)); err == nil && *addr != "" {
			if err := card.SetAddresses(strings.Split(*addr, ",")); err != nil {
				return usageError("--addr: %v", err)
			}
		}
	}
	if err != nil {
		return err
	}
	if asJSON(fs) {
		return writeJSON(stdout, map[string]string{"card": string(card.Marshal())})
	}
	_, err = stdout.Write(card.Marshal())
	return err
}

func cmdServe(args []string, stdout, stderr io.Writer, initFirst bool) error {
	name := "serve"
	if initFirst {
		name = "run"
	}
	fs := newFlags(name, stderr)
	data := fs.String("data", "", "data directory (required)")
	listen := fs.String("listen", "", "UDP HOST:PORT to listen on (default 127.0.0.1:7443)")
	config := fs.String("config", "", "JSON config file (fields of gateway.Config)")
	logFormat := fs.String("log", "", "log format: text or json")
	if _, err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := needData(*data); err != nil {
		return err
	}
	var cfg gateway.Config
	if *config != "" {
		if err := gateway.LoadConfigFile(*config, &cfg); err != nil {
			return err
		}
	}
	cfg.Dir = *data
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *logFormat != "" {
		cfg.LogFormat = *logFormat
	}
	if initFirst {
		if err := initDemo(cfg, stdout); err != nil {
			return err
		}
	}
	srv, err := gateway.New(cfg)
	if err != nil {
		return err
	}
	if initFirst {
		fmt.Fprintf(stdout, "gateway listening on %s (Ctrl-C stops it)\n", srv.Addr())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Serve(ctx)
}

// initDemo initialises cfg.Dir on first use with a few demo keys, and says
// how to activate one.
func initDemo(cfg gateway.Config, stdout io.Writer) error {
	keysFile := filepath.Join(cfg.Dir, "demo-keys.txt")
	card := filepath.Join(cfg.Dir, gateway.FileCard)
	if _, err := os.Stat(card); errors.Is(err, os.ErrNotExist) {
		addr := cfg.Listen
		if addr == "" {
			addr = gateway.DefaultAddress
		}
		scheme, _ := gateway.ParseScheme("")
		id, err := gateway.Init(cfg.Dir, scheme, addr)
		if err != nil {
			return err
		}
		st, err := gateway.OpenStore(cfg.Dir, gateway.StoreOptions{})
		if err != nil {
			return err
		}
		if _, err := service.LoadDemoCatalogue(st); err != nil {
			st.Close()
			return err
		}
		keys, err := mintDemoKeys(st, id)
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(k.Display() + "\n")
		}
		if err := atomicfile.Create(keysFile, []byte(b.String()), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "initialised %s with the demo catalogue (VSE 2.1: 1AJS2..1CJS4, 1FJS3 floating) and 5 demo keys of product 1AJS2 (2 seats each) in %s\n", cfg.Dir, keysFile)
	}
	fmt.Fprintf(stdout, "server card: %s\n", card)
	if _, err := os.Stat(keysFile); err == nil {
		fmt.Fprintf(stdout, "activate a demo key from another terminal:\n  go run ./clients/cmd/tollgate-client --card %s --state %s activate $(head -1 %s)\n",
			card, filepath.Join(os.TempDir(), "tollgate-demo-client"), keysFile)
	}
	return nil
}

// cmdMint is 'tollgate keys mint'.
func cmdMint(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys mint", stderr)
	data := fs.String("data", "", "data directory (required)")
	product := fs.String("product", "", "5-character product code of the catalogue, such as 1AJS2 (required)")
	uncatalogued := fs.Bool("uncatalogued", false, "mint keys of a product that is not in the catalogue (tests; otherwise refused)")
	count := fs.Int("count", 1, fmt.Sprintf("how many keys (1 to %d)", store.MaxMintKeys))
	seats := fs.Uint("seats", 1, fmt.Sprintf("machines per key, at most the catalogue product's maximum (%d if it states none or is not in the catalogue) (default: the catalogue product's, else 1)", store.DefaultMaxSeats))
	years := fs.Uint("years", 0, "term in years (default: the catalogue product's, else 1 year)")
	months := fs.Uint("months", 0, "term in months")
	days := fs.Uint("days", 0, "term in days (trials)")
	perpetual := fs.Bool("perpetual", false, "no term")
	level := fs.Uint("level", 1, "validation level 1, 2 or 3 (default: the catalogue product's)")
	var features multi
	fs.Var(&features, "feature", "entitlement the keys carry (repeatable)")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if err := needData(*data); err != nil {
		return err
	}
	if *product == "" || len(pos) > 0 {
		return usageError("usage: tollgate keys mint --data DIR --product CODE [flags]")
	}
	code := strings.ToUpper(*product)
	p, err := parseProductCode(code)
	if err != nil {
		return err
	}
	if *level < 1 || *level > 3 {
		return usageError("--level must be 1, 2 or 3")
	}
	term, err := termFlags(fs, *years, *months, *days, *perpetual)
	if err != nil {
		return err
	}
	set := given(fs)
	id, err := gateway.LoadIdentity(*data)
	if err != nil {
		return err
	}
	st, err := gateway.OpenStore(*data, gateway.StoreOptions{CacheEntries: 1024})
	if err != nil {
		return err
	}
	defer st.Close()
	// A catalogue product gives the defaults; the flags given override them.
	spec := service.Spec{Seats: 1, Policy: store.Policy{Level: 1}}
	if prod, err := st.ProductByCode(code); err == nil {
		spec = service.ProductSpec(&prod)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	} else if !*uncatalogued {
		return usageError("product %s is not in the catalogue: add it with 'tollgate product add', or mint anyway with --uncatalogued", code)
	}
	if set["seats"] {
		spec.Seats = clampSeats(*seats)
	}
	if set["level"] {
		spec.Policy.Level = uint8(*level)
	}
	if len(features) > 0 {
		spec.Entitlements = features
	}
	if term.Kind != store.TermDefault {
		spec.Term = term
	}
	keys, err := service.MintKeys(st, id.Hasher, p, *count, spec, time.Now())
	var refusal *service.Error
	if errors.As(err, &refusal) {
		// A refusal says its status, as a shop's mint is told it.
		return fmt.Errorf("%v: %w", refusal.Kind.Status(), err)
	}
	if err != nil {
		return err
	}
	if asJSON(fs) {
		out := mintedJSON{Product: code, Keys: make([]string, len(keys))}
		for i, k := range keys {
			out.Keys[i] = k.Display()
		}
		return writeJSON(stdout, out)
	}
	for _, k := range keys {
		fmt.Fprintln(stdout, k.Display())
	}
	return nil
}

// mintedJSON is what keys mint --json prints.
type mintedJSON struct {
	Product string   `json:"product"`
	Keys    []string `json:"keys"`
}

// parseProductCode parses an operator's product code, saying what one is
// when it is not.
func parseProductCode(code string) (keygen.ProductCode, error) {
	p, err := keygen.ParseProductCode(code)
	if err != nil || !store.ValidProductCode(code) {
		return p, usageError("%q is not a valid product code: 5 characters of 0-9A-Z", code)
	}
	return p, nil
}

// termFlags is the term the flags --years, --months, --days and
// --perpetual give (TermDefault when none is), refusing more than one.
func termFlags(fs *flag.FlagSet, years, months, days uint, perpetual bool) (store.Term, error) {
	if err := oneOf(fs, "years", "months", "days", "perpetual", "trial-days"); err != nil {
		return store.Term{}, err
	}
	for _, n := range []uint{years, months, days} {
		if n > 0xffff {
			return store.Term{}, usageError("a term of %d is too long", n)
		}
	}
	switch {
	case perpetual:
		return store.Term{Kind: store.TermPerpetual}, nil
	case years > 0:
		return store.Term{Kind: store.TermYears, Value: uint16(years)}, nil
	case months > 0:
		return store.Term{Kind: store.TermMonths, Value: uint16(months)}, nil
	case days > 0:
		return store.Term{Kind: store.TermDays, Value: uint16(days)}, nil
	}
	return store.Term{}, nil
}

// mintDemoKeys mints the five demo keys of product 1AJS2 that make run
// prints, with the catalogue's spec and two seats, so that a second machine
// can be tried.
func mintDemoKeys(st *store.Store, id *gateway.Identity) ([]keygen.Key, error) {
	prod, err := st.ProductByCode("1AJS2")
	if err != nil {
		return nil, err
	}
	spec := service.ProductSpec(&prod)
	spec.Seats = 2
	p, err := keygen.ParseProductCode(prod.Code)
	if err != nil {
		return nil, err
	}
	return service.MintKeys(st, id.Hasher, p, 5, spec, time.Now())
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }
