// Command tollgate-shop is a shop server's tool for the Tollgate shop
// channel: it creates the shop's key pair, mints keys for an order, and
// suspends, resumes, revokes, renews or queries the shop's keys.
//
// It prints license keys only where that is its job (mint); errors never
// carry a key or the private key.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

const usage = `tollgate-shop mints and manages license keys over the Tollgate shop channel.

Usage:
  tollgate-shop keygen --out shop.key
  tollgate-shop mint --card server.card --key shop.key --product CODE --count N --order ID
                     [--years N | --months N | --days N | --perpetual] [--seats N]
                     [--expiry YYYY-MM-DD] [--feature NAME]... [--json]
  tollgate-shop suspend|resume|revoke|status --card server.card --key shop.key KEY...
  tollgate-shop renew --card server.card --key shop.key [--years N | --months N] KEY...

keygen writes the private key (mode 0600, never overwriting) and FILE.pub,
and prints the public key to register with the gateway's operator.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "tollgate-shop:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "keygen":
		return cmdKeygen(rest, stdout, stderr)
	case "mint":
		return cmdMint(rest, stdout, stderr)
	case "suspend", "resume", "revoke", "renew", "status":
		return cmdKeyOp(cmd, rest, stdout, stderr)
	default:
		return fmt.Errorf("unknown command %q; run 'tollgate-shop help'", cmd)
	}
}

func cmdKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tollgate-shop keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "shop.key", "private key file to create (never overwritten)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := os.Stat(*out + ".pub"); err == nil {
		return fmt.Errorf("%s.pub already exists; not overwriting", *out)
	}
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	if err := channel.WritePrivateKeyFile(*out, k); err != nil {
		return err
	}
	pub := k.Public().String()
	f, err := os.OpenFile(*out+".pub", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, pub)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, pub)
	fmt.Fprintf(stderr, "wrote %s (private, 0600) and %s.pub; register the public key with the gateway operator\n", *out, *out)
	return nil
}

type connFlags struct{ card, key, addr *string }

func addConnFlags(fs *flag.FlagSet) connFlags {
	return connFlags{
		card: fs.String("card", "server.card", "the gateway's server card"),
		key:  fs.String("key", "shop.key", "the shop's private key"),
		addr: fs.String("addr", "", "gateway HOST:PORT (default: the card's)"),
	}
}

func (c connFlags) dial() (*clients.ShopClient, error) {
	card, err := wire.LoadCard(*c.card)
	if err != nil {
		return nil, err
	}
	k, err := channel.ReadPrivateKeyFile(*c.key)
	if err != nil {
		return nil, err
	}
	return clients.NewShop(clients.ShopConfig{Card: card, ShopKey: k, Address: *c.addr})
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func termOf(years, months, days uint, perpetual bool) (wire.Term, error) {
	set := 0
	var t wire.Term
	if years > 0 {
		set, t = set+1, wire.Term{Kind: wire.TermYears, Value: uint16(years)}
	}
	if months > 0 {
		set, t = set+1, wire.Term{Kind: wire.TermMonths, Value: uint16(months)}
	}
	if days > 0 {
		set, t = set+1, wire.Term{Kind: wire.TermDays, Value: uint16(days)}
	}
	if perpetual {
		set, t = set+1, wire.Term{Kind: wire.TermPerpetual}
	}
	if set > 1 {
		return wire.Term{}, errors.New("give at most one of --years, --months, --days, --perpetual")
	}
	return t, t.Check()
}

func cmdMint(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tollgate-shop mint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addConnFlags(fs)
	product := fs.String("product", "", "5-character product code (required)")
	count := fs.Int("count", 1, fmt.Sprintf("number of keys, 1 to %d", wire.MaxMintCount))
	order := fs.String("order", "", "the shop's order id; a retry with the same id returns the same keys (required)")
	years := fs.Uint("years", 0, "term in years")
	months := fs.Uint("months", 0, "term in months (subscriptions)")
	days := fs.Uint("days", 0, "term in days (trials)")
	perpetual := fs.Bool("perpetual", false, "no term")
	seats := fs.Uint("seats", 0, "machines per key (default: the product's)")
	expiry := fs.String("expiry", "", "absolute expiry date, YYYY-MM-DD (UTC)")
	asJSON := fs.Bool("json", false, "print JSON instead of one key a line")
	var features multi
	fs.Var(&features, "feature", "entitlement the keys carry instead of the product's (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *product == "" || *order == "" {
		return errors.New("--product and --order are required")
	}
	if *seats > math.MaxUint32 {
		return fmt.Errorf("--seats %d is more than any product allows", *seats)
	}
	spec := clients.MintSpec{Seats: uint32(*seats), Entitlements: features}
	var err error
	if spec.Term, err = termOf(*years, *months, *days, *perpetual); err != nil {
		return err
	}
	if *expiry != "" {
		if spec.Expiry, err = time.Parse("2006-01-02", *expiry); err != nil {
			return fmt.Errorf("--expiry: want YYYY-MM-DD")
		}
	}
	c, err := cf.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	keys, err := c.Mint(context.Background(), *order, strings.ToUpper(*product), *count, spec)
	if err != nil {
		return err
	}
	if *asJSON {
		out := struct {
			Order   string   `json:"order"`
			Product string   `json:"product"`
			Keys    []string `json:"keys"`
		}{Order: *order, Product: strings.ToUpper(*product)}
		for _, k := range keys {
			out.Keys = append(out.Keys, k.Display())
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, k := range keys {
		fmt.Fprintln(stdout, k.Display())
	}
	return nil
}

func cmdKeyOp(name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tollgate-shop "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addConnFlags(fs)
	years := fs.Uint("years", 0, "renew: extend by this many years")
	months := fs.Uint("months", 0, "renew: extend by this many months")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: tollgate-shop %s [flags] KEY (one or more keys)", name)
	}
	ops := map[string]wire.KeyOp{"suspend": wire.KeyOpSuspend, "resume": wire.KeyOpResume, "revoke": wire.KeyOpRevoke, "renew": wire.KeyOpRenew, "status": wire.KeyOpStatus}
	op := ops[name]
	var term wire.Term
	if op == wire.KeyOpRenew {
		var err error
		if term, err = termOf(*years, *months, 0, false); err != nil {
			return err
		}
	}
	c, err := cf.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	failed := 0
	for i, arg := range fs.Args() {
		k, err := keygen.ParseKey(arg)
		if err != nil {
			fmt.Fprintf(stderr, "argument %d: not a valid license key\n", i+1)
			failed++
			continue
		}
		st, err := c.KeyOp(context.Background(), k, op, term)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", k, err)
			failed++
			continue
		}
		fmt.Fprintf(stdout, "%s  %s  product %s  seats %d/%d", k, st.Status, st.Product, st.SeatsUsed, st.Seats)
		if !st.Activated.IsZero() {
			fmt.Fprintf(stdout, "  activated %s", st.Activated.UTC().Format(time.DateOnly))
		}
		if !st.Expiry.IsZero() {
			fmt.Fprintf(stdout, "  expires %s", st.Expiry.UTC().Format(time.DateOnly))
		}
		fmt.Fprintln(stdout)
		for _, a := range st.Activations {
			fmt.Fprintf(stdout, "    %s  last seen %s\n", a.Hostname, a.LastSeen.UTC().Format(time.RFC3339))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d keys failed", failed, fs.NArg())
	}
	return nil
}
