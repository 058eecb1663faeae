// Command tollgate-shop is a shop server's tool for the Tollgate shop
// channel: it creates the shop's key pair, mints keys for an order, and
// suspends, resumes, revokes, renews or queries the shop's keys; serve
// runs the shop's local HTTP/JSON bridge with its webhooks
// (clients/bridge), openapi prints that API's description, and events
// follows the shop's events or lists those the bridge could not deliver.
//
// It prints license keys only where that is its job (mint); errors never
// carry a key or the private key. Flags may come before or after the
// arguments. With --json every answer, errors included, is one JSON object
// on stdout with at least "status" and "message" (README: "JSON output").
//
// Exit codes: 0 done, 1 failed (refused, unreachable, a key not done),
// 2 usage.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/clients/internal/cli"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

const connSynopsis = "[--card server.card] [--key shop.key] [--addr HOST:PORT]"

var commands = []cli.Command{
	{Name: "keygen", Args: "[--out shop.key]", Summary: "create the shop's key pair", Help: `Writes the shop's private key (mode 0600, never overwriting) and FILE.pub, and
prints the public key to register with the gateway's operator.

Example:
  tollgate-shop keygen --out shop.key`},
	{Name: "mint", Args: connSynopsis + " --product CODE --order ID [--count N]\n       [--years N | --months N | --days N | --perpetual] [--seats N] [--expiry YYYY-MM-DD] [--feature NAME]...", Summary: "mint license keys for an order", Help: `Mints --count new keys of the product for the shop's order and prints them, one
a line. A retry with the same order id and request prints the same keys; the
same order id with another request is refused (ORDER_CONFLICT).

Example:
  tollgate-shop mint --card server.card --key shop.key --product 1AJS2 --count 2 --order WEB-1042 --years 1`},
	{Name: "suspend", Args: connSynopsis + " KEY...", Summary: "suspend keys (reversible)", Help: `Suspends each key: its machines are refused at their next validation, until
resumed.

Example:
  tollgate-shop suspend --card server.card --key shop.key 1AJS2-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`},
	{Name: "resume", Args: connSynopsis + " KEY...", Summary: "resume suspended keys", Help: `Resumes each suspended key. A revoked key stays revoked: revocation is final.

Example:
  tollgate-shop resume --card server.card --key shop.key 1AJS2-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`},
	{Name: "revoke", Args: connSynopsis + " KEY...", Summary: "revoke keys (final)", Help: `Revokes each key for good (a refund, a chargeback): its machines are refused at
their next validation, and it cannot be resumed.

Example:
  tollgate-shop revoke --card server.card --key shop.key 1AJS2-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`},
	{Name: "renew", Args: connSynopsis + " [--years N | --months N] KEY...", Summary: "extend keys' terms", Help: `Extends each key's term by --years or --months (default: the key's own term).

Example:
  tollgate-shop renew --card server.card --key shop.key --years 1 1AJS2-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`},
	{Name: "status", Args: connSynopsis + " KEY...", Summary: "show keys' state and machines", Help: `Shows each key's state, seats, term and the machines it is activated on. A key
this shop did not sell is answered like an unknown one: no license of this
shop has it.

Example:
  tollgate-shop status --card server.card --key shop.key --json 1AJS2-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`},
	{Name: "reset-seat", Args: connSynopsis + " --machine HOSTNAME | --all  KEY", Summary: "free a customer's seat (self-service, limited)", Help: `Frees, for the customer, the seat that the machine named --machine holds
(as 'status' lists the machines), or every seat with --all: the customer's
machine died. The gateway allows a few such resets per license in any 30
days (its self_service_resets, 3 by default); the answer says how many are
left, and past them it refuses RESET_LIMIT with when the next is possible.
Each reset is audited on the gateway and appears in the shop's events
(deactivated).

Example:
  tollgate-shop reset-seat --card server.card --key shop.key --machine alice-laptop 1AJS2-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`},
	{Name: "serve", Args: connSynopsis + " [--listen 127.0.0.1:8088] [--token-file FILE] [--allow-remote]\n       [--webhook URL]... [--webhook-secret-file FILE] [--webhook-retry-for 24h] [--state DIR]", Summary: "serve the shop's HTTP/JSON bridge", Help: `Serves the shop channel as HTTP/JSON on loopback for the shop's web code:
POST /v1/orders, GET /v1/orders/{order_id}, GET /v1/licenses/{key},
POST /v1/licenses/{key}/suspend|resume|revoke|renew, GET /v1/health, GET /metrics
('tollgate-shop openapi' describes them). Refusals are RFC 9457 problem documents.
A non-loopback --listen needs --allow-remote and --token-file (Authorization:
Bearer TOKEN). With --webhook, each of the shop's events is POSTed, in order and
at least once, to every URL, signed: Tollgate-Signature: t=UNIX,v1=HEX, HEX the
HMAC-SHA-256 of "UNIX.BODY" under the secret in --webhook-secret-file (0600).

Example:
  tollgate-shop serve --card server.card --key shop.key --webhook http://127.0.0.1/hooks/tollgate --webhook-secret-file webhook.secret --state /var/lib/tollgate-shop`},
	{Name: "openapi", Args: "", Summary: "print the bridge's OpenAPI 3 document", Help: `Prints the OpenAPI 3 document (JSON) of the API 'tollgate-shop serve' serves.

Example:
  tollgate-shop openapi > tollgate-bridge.json`},
	{Name: "events", Args: "--failed --state DIR | " + connSynopsis + " --follow [--after N]", Summary: "follow the shop's events, or list undelivered ones", Help: `--failed lists, one JSON object a line, the events the bridge gave up delivering
to its webhooks (after --webhook-retry-for). --follow prints the shop's events as
JSON lines as they happen (pull mode, no webhook), from after event --after.

Example:
  tollgate-shop events --failed --state /var/lib/tollgate-shop`},
}

const commonHelp = `Every command takes --json: the answer, errors included, as one JSON object on
stdout. Flags may come before or after the arguments. -h, --help shows help.

Exit status: 0 done, 1 failed (refused, unreachable, a key not done), 2 usage.
`

func usage() string {
	var b strings.Builder
	b.WriteString("tollgate-shop mints and manages license keys over the Tollgate shop channel.\n\nUsage:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  tollgate-shop %-8s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(&b, "  tollgate-shop %-8s %s\n", "help", "show this help (help COMMAND: a command's)")
	b.WriteString("\nRun 'tollgate-shop COMMAND --help' for a command's flags and an example.\n\n")
	b.WriteString(commonHelp)
	return b.String()
}

func lookup(name string) (cli.Command, bool) { return cli.Lookup(commands, name) }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// shop is one run: its output, whether it speaks JSON, and the context
// that ends the commands that run until interrupted (serve, events
// --follow).
type shop struct {
	stdout, stderr io.Writer
	json           bool
	ctx            context.Context
}

func (s *shop) context() context.Context { return s.ctx }

func (s *shop) fail(code int, a cli.Answer) int {
	cli.Fail(s.stdout, s.stderr, s.json, "tollgate-shop", a)
	return code
}

// failErr reports err from the gateway or the local files.
func (s *shop) failErr(err error) int {
	a := answerOf(err)
	return s.fail(cli.ExitFail, cli.Answer{Status: a.status, ServerStatus: a.serverStatus, Message: a.message})
}

func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

// runContext is run, ending serve and events --follow when ctx ends.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	s := &shop{stdout: stdout, stderr: stderr, json: cli.WantsJSON(args), ctx: ctx}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return s.fail(cli.ExitUsage, cli.Usage("tollgate-shop help", "Give a command."))
	}
	// The command is the first argument naming one: flags may come before
	// it as well as after.
	at := -1
	for i, a := range args {
		if _, ok := lookup(a); ok || a == "help" {
			at = i
			break
		}
	}
	if at < 0 {
		for _, a := range args {
			switch {
			case a == "-h" || a == "--help" || a == "-help":
				fmt.Fprint(stdout, usage())
				return cli.ExitOK
			case !strings.HasPrefix(a, "-"):
				return s.fail(cli.ExitUsage, cli.Usage("tollgate-shop help", "Unknown command %q.", a))
			}
		}
		return s.fail(cli.ExitUsage, cli.Usage("tollgate-shop help", "Give a command."))
	}
	cmd, rest := args[at], append(append([]string(nil), args[:at]...), args[at+1:]...)
	switch cmd {
	case "help":
		for _, a := range rest {
			if c, ok := lookup(a); ok {
				return s.help(c, nil)
			}
		}
		fmt.Fprint(stdout, usage())
		return cli.ExitOK
	case "keygen":
		return s.keygen(rest)
	case "mint":
		return s.mint(rest)
	case "serve":
		return s.serve(rest)
	case "openapi":
		return s.openapi(rest)
	case "events":
		return s.events(rest)
	case "reset-seat":
		return s.resetSeat(rest)
	default: // suspend, resume, revoke, renew, status
		return s.keyOp(cmd, rest)
	}
}

// help prints c's help, with the flags of fs when it is not nil.
func (s *shop) help(c cli.Command, fs *flag.FlagSet) int {
	fmt.Fprintf(s.stdout, "Usage: tollgate-shop %s %s\n\n%s\n\n", c.Name, c.Args, c.Help)
	if fs != nil {
		fmt.Fprintln(s.stdout, "Flags:")
		fs.SetOutput(s.stdout)
		fs.PrintDefaults()
		fmt.Fprintln(s.stdout)
	}
	fmt.Fprint(s.stdout, commonHelp)
	return cli.ExitOK
}

// parse parses the flags of command name; done is set when it answered
// (help, or a usage error) with code.
func (s *shop) parse(name string, fs *flag.FlagSet, args []string) (pos []string, code int, done bool) {
	fs.SetOutput(io.Discard)
	fs.BoolVar(&s.json, "json", s.json, "print the answer as JSON")
	pos, err := cli.Parse(fs, args)
	c, _ := lookup(name)
	switch {
	case cli.IsHelp(err):
		return nil, s.help(c, fs), true
	case err != nil:
		return nil, s.fail(cli.ExitUsage, cli.Usage("tollgate-shop "+name+" --help", "%v.", err)), true
	}
	return pos, 0, false
}

func (s *shop) keygen(args []string) int {
	fs := flag.NewFlagSet("tollgate-shop keygen", flag.ContinueOnError)
	out := fs.String("out", "shop.key", "private key file to create (never overwritten)")
	pos, code, done := s.parse("keygen", fs, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return s.fail(cli.ExitUsage, cli.Usage("tollgate-shop keygen --help", "keygen takes no arguments; name the file with --out FILE."))
	}
	if _, err := os.Stat(*out + ".pub"); err == nil {
		return s.fail(cli.ExitFail, cli.Answer{Status: "exists", Message: fmt.Sprintf("%s.pub already exists; not overwriting.", *out)})
	}
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		return s.failErr(err)
	}
	if err := channel.WritePrivateKeyFile(*out, k); err != nil {
		return s.failErr(err)
	}
	pub := k.Public().String()
	f, err := os.OpenFile(*out+".pub", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return s.failErr(err)
	}
	_, err = fmt.Fprintln(f, pub)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return s.failErr(err)
	}
	msg := fmt.Sprintf("Wrote %s (private, 0600) and %s.pub; register the public key with the gateway operator.", *out, *out)
	if s.json {
		cli.Emit(s.stdout, struct {
			cli.Answer
			PublicKey      string `json:"public_key"`
			PrivateKeyFile string `json:"private_key_file"`
			PublicKeyFile  string `json:"public_key_file"`
		}{cli.Answer{Status: "ok", Message: msg}, pub, *out, *out + ".pub"})
		return cli.ExitOK
	}
	fmt.Fprintln(s.stdout, pub)
	fmt.Fprintln(s.stderr, msg)
	return cli.ExitOK
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
		return nil, fmt.Errorf("cannot read the server card %s: %w", *c.card, err)
	}
	k, err := channel.ReadPrivateKeyFile(*c.key)
	if err != nil {
		return nil, fmt.Errorf("cannot read the shop key %s: %w", *c.key, err)
	}
	return clients.NewShop(clients.ShopConfig{Card: card, ShopKey: k, Address: *c.addr})
}

// outcome is an error as the command reports it: a stable status word, the
// server's status name when it refused, and a sentence.
type outcome struct {
	status, serverStatus, message string
}

// answerOf names err. A refusal keeps the server's sentence; NOT_FOUND
// says that no license of this shop has the key, since the gateway
// answers another shop's key as it answers an unknown one.
func answerOf(err error) outcome {
	var se *wire.StatusError
	switch {
	case errors.As(err, &se) && se.Status == wire.StatusNotFound:
		return outcome{"refused", se.Status.String(), "No license of this shop has this key (a key another shop sold is answered as unknown)."}
	case errors.As(err, &se) && se.Retryable():
		return outcome{"server-error", se.Status.String(), fmt.Sprintf("The gateway could not do it now (%s): %s. Try again later.", se.Status, se.Message)}
	case errors.As(err, &se):
		return outcome{"refused", se.Status.String(), fmt.Sprintf("The gateway refused (%s): %s.", se.Status, orStatus(se))}
	case errors.Is(err, clients.ErrHandshake):
		return outcome{"wrong-server", "", "The server that answered is not the gateway the card names: " + trim(err) + "."}
	case errors.Is(err, clients.ErrTimeout):
		return outcome{"timeout", "", "The gateway did not answer in time: " + trim(err) + "."}
	case errors.Is(err, clients.ErrUnreachable), errors.Is(err, clients.ErrConnection):
		return outcome{"unreachable", "", "The gateway cannot be reached: " + trim(err) + "."}
	case errors.Is(err, clients.ErrConfig):
		return outcome{"usage-error", "", trim(err) + "."}
	}
	return outcome{"error", "", strings.ToUpper(trim(err)[:1]) + trim(err)[1:] + "."}
}

func orStatus(se *wire.StatusError) string {
	if se.Message == "" {
		return strings.ToLower(strings.ReplaceAll(se.Status.String(), "_", " "))
	}
	return se.Message
}

func trim(err error) string {
	s := strings.TrimPrefix(err.Error(), "clients: ")
	return strings.TrimSuffix(s, ".")
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

func (s *shop) mint(args []string) int {
	fs := flag.NewFlagSet("tollgate-shop mint", flag.ContinueOnError)
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
	var features multi
	fs.Var(&features, "feature", "entitlement the keys carry instead of the product's (repeatable)")
	pos, code, done := s.parse("mint", fs, args)
	if done {
		return code
	}
	usageErr := func(format string, a ...any) int {
		return s.fail(cli.ExitUsage, cli.Usage("tollgate-shop mint --help", format, a...))
	}
	switch {
	case len(pos) > 0:
		return usageErr("mint takes no arguments (%d given); everything is a flag.", len(pos))
	case *product == "" || *order == "":
		return usageErr("--product and --order are required.")
	case *seats > math.MaxUint32:
		return usageErr("--seats %d is more than any product allows.", *seats)
	}
	spec := clients.MintSpec{Seats: uint32(*seats), Entitlements: features}
	var err error
	if spec.Term, err = termOf(*years, *months, *days, *perpetual); err != nil {
		return usageErr("%v.", err)
	}
	if *expiry != "" {
		if spec.Expiry, err = time.Parse("2006-01-02", *expiry); err != nil {
			return usageErr("--expiry: want YYYY-MM-DD.")
		}
	}
	c, err := cf.dial()
	if err != nil {
		return s.failErr(err)
	}
	defer c.Close()
	p := strings.ToUpper(*product)
	keys, err := c.Mint(context.Background(), *order, p, *count, spec)
	if err != nil {
		return s.failErr(err)
	}
	if s.json {
		out := struct {
			cli.Answer
			Order   string   `json:"order"`
			Product string   `json:"product"`
			Keys    []string `json:"keys"`
		}{Answer: cli.Answer{Status: "ok", Message: fmt.Sprintf("Minted %d key(s) of %s for order %s.", len(keys), p, *order)}, Order: *order, Product: p}
		for _, k := range keys {
			out.Keys = append(out.Keys, k.Display())
		}
		cli.Emit(s.stdout, out)
		return cli.ExitOK
	}
	for _, k := range keys {
		fmt.Fprintln(s.stdout, k.Display())
	}
	return cli.ExitOK
}

// keyResult is one key's answer in a key operation's JSON. Key is the
// key masked, as in logs: the full key is the shop's to know already.
type keyResult struct {
	Argument      int              `json:"argument"`
	Key           string           `json:"key,omitempty"`
	Status        string           `json:"status"`
	ServerStatus  string           `json:"server_status,omitempty"`
	Message       string           `json:"message,omitempty"`
	LicenseStatus string           `json:"license_status,omitempty"`
	Product       string           `json:"product,omitempty"`
	Seats         uint32           `json:"seats,omitempty"`
	SeatsUsed     uint32           `json:"seats_used"`
	Activated     time.Time        `json:"activated,omitzero"`
	Expiry        time.Time        `json:"expiry,omitzero"`
	Activations   []activationJSON `json:"activations,omitempty"`
}

type activationJSON struct {
	Hostname string    `json:"hostname"`
	LastSeen time.Time `json:"last_seen"`
}

func (s *shop) keyOp(name string, args []string) int {
	fs := flag.NewFlagSet("tollgate-shop "+name, flag.ContinueOnError)
	cf := addConnFlags(fs)
	var years, months *uint
	if name == "renew" {
		years = fs.Uint("years", 0, "extend by this many years")
		months = fs.Uint("months", 0, "extend by this many months")
	}
	pos, code, done := s.parse(name, fs, args)
	if done {
		return code
	}
	if len(pos) == 0 {
		return s.fail(cli.ExitUsage, cli.Usage("tollgate-shop "+name+" --help", "Give one or more keys: tollgate-shop %s [flags] KEY...", name))
	}
	ops := map[string]wire.KeyOp{"suspend": wire.KeyOpSuspend, "resume": wire.KeyOpResume, "revoke": wire.KeyOpRevoke, "renew": wire.KeyOpRenew, "status": wire.KeyOpStatus}
	op := ops[name]
	var term wire.Term
	if op == wire.KeyOpRenew {
		var err error
		if term, err = termOf(*years, *months, 0, false); err != nil {
			return s.fail(cli.ExitUsage, cli.Usage("tollgate-shop renew --help", "%v.", err))
		}
	}
	c, err := cf.dial()
	if err != nil {
		return s.failErr(err)
	}
	defer c.Close()
	var results []keyResult
	failed := 0
	for i, arg := range pos {
		r := keyResult{Argument: i + 1}
		k, err := keygen.ParseKey(arg)
		if err != nil {
			r.Status, r.Message = "malformed-key", fmt.Sprintf("Argument %d is not a valid license key.", i+1)
		} else {
			r.Key = k.String()
			var st *clients.KeyStatus
			if st, err = c.KeyOp(context.Background(), k, op, term); err != nil {
				o := answerOf(err)
				r.Status, r.ServerStatus, r.Message = o.status, o.serverStatus, o.message
			} else {
				r.Status, r.LicenseStatus, r.Product, r.Seats, r.SeatsUsed = "ok", st.Status.String(), st.Product, st.Seats, st.SeatsUsed
				r.Activated, r.Expiry = st.Activated.UTC(), st.Expiry.UTC()
				for _, a := range st.Activations {
					r.Activations = append(r.Activations, activationJSON{a.Hostname, a.LastSeen.UTC()})
				}
			}
		}
		if r.Status != "ok" {
			failed++
		}
		results = append(results, r)
		if !s.json {
			printResult(s.stdout, s.stderr, r)
		}
	}
	a := cli.Answer{Status: "ok", Message: fmt.Sprintf("%s: %d key(s) done.", name, len(pos))}
	if failed > 0 {
		a = cli.Answer{Status: "failed", Message: fmt.Sprintf("%s: %d of %d key(s) failed.", name, failed, len(pos))}
	}
	if s.json {
		cli.Emit(s.stdout, struct {
			cli.Answer
			Results []keyResult `json:"results"`
		}{a, results})
	} else if failed > 0 {
		fmt.Fprintf(s.stderr, "tollgate-shop: %s\n", a.Message)
	}
	if failed > 0 {
		return cli.ExitFail
	}
	return cli.ExitOK
}

func printResult(stdout, stderr io.Writer, r keyResult) {
	if r.Status != "ok" {
		who := r.Key
		if who == "" {
			who = fmt.Sprintf("argument %d", r.Argument)
		}
		fmt.Fprintf(stderr, "%s: %s\n", who, r.Message)
		return
	}
	fmt.Fprintf(stdout, "%s  %s  product %s  seats %d/%d", r.Key, r.LicenseStatus, r.Product, r.SeatsUsed, r.Seats)
	if !r.Activated.IsZero() {
		fmt.Fprintf(stdout, "  activated %s", r.Activated.Format(time.DateOnly))
	}
	if !r.Expiry.IsZero() {
		fmt.Fprintf(stdout, "  expires %s", r.Expiry.Format(time.DateOnly))
	}
	fmt.Fprintln(stdout)
	for _, a := range r.Activations {
		fmt.Fprintf(stdout, "    %s  last seen %s\n", a.Hostname, a.LastSeen.Format(time.RFC3339))
	}
}
