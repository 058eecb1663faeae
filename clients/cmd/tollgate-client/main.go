// Command tollgate-client activates, checks and deactivates a license on
// this machine, as a program linking the clients library would, and shows
// a support desk what the saved license and the machine fingerprint say.
// It is a thin wrapper over clients.Licensee.
//
// Flags may come before or after the command. With --json every answer,
// errors included, is one JSON object on stdout with at least "status" and
// "message" (README: "JSON output").
//
// Exit codes: 0 licensed (or done), 1 not licensed, 2 could not decide
// (network, server, usage), 3 the server card does not match the server's
// leases (a wrong or tampered card).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/clients/internal/cli"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

const (
	exitLicensed    = 0
	exitNotLicensed = 1
	exitUndecided   = 2
	exitWrongCard   = 3
)

var commands = []cli.Command{
	{Name: "activate", Args: "KEY", Summary: "activate the license key on this machine", NArgs: 1, Help: `Binds the license key to this installation on this machine (taking one of the
license's seats) and saves the signed lease, so the program also runs offline.
A folder that holds the license of another product is not overwritten:
deactivate that one first, or use another --state.

Example:
  tollgate-client --card server.card activate 1AJS2-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`},
	{Name: "trial", Summary: "start the product's keyless trial on this machine", Help: `Starts the product's keyless trial, if it offers one: a license of the trial's
days and features for this installation, saved as an activated key's is, so
that validate and status work on it until the trial ends. A computer gets one
trial of a product: a new state folder or a reinstall is refused (trial-used).
A folder that already holds a license starts no trial: the answer is that
license's check. Activating a bought key later in the same folder replaces the
trial and keeps the installation.

Example:
  tollgate-client --card server.card --product 1CJS2 trial`},
	{Name: "validate", Summary: "check the license with the server (--offline: from the saved lease)", Help: `Asks the license server whether the license is still good, now: a suspension,
revocation or seat reset is seen at once. When the server cannot be reached,
the saved lease decides, and the answer says the check was offline.
With --offline the server is not asked at all: the saved lease and the
clock decide.

Examples:
  tollgate-client --card server.card --product 1AJS2 validate
  tollgate-client --card server.card --product 1AJS2 validate --offline`},
	{Name: "status", Summary: "show the saved license, offline", Help: `Shows what the saved license says (product, features, expiry, days left
offline, last server contact), without asking the server.

Example:
  tollgate-client --product 1AJS2 status --json`},
	{Name: "deactivate", Summary: "free this machine's seat", Help: `Frees this machine's seat on the license server and forgets the license here,
so the key can be activated on another machine. It needs the server.

Example:
  tollgate-client --card server.card --product 1AJS2 deactivate`},
	{Name: "checkout", Summary: checkoutCommand.summary, Help: checkoutCommand.help},
	{Name: "fingerprint", Summary: "show this machine's fingerprint and what changed", Help: `Shows this machine's fingerprint (salted hashes: no hardware identifier leaves
the machine) and which components changed since the license was activated.

Example:
  tollgate-client --product 1AJS2 fingerprint`},
	{Name: "time", Summary: "compare this machine's clock with the server's", Help: `Asks the license server for its time and shows how far this machine's clock
is off; a server answer also moves the clock ratchet forward.

Example:
  tollgate-client --card server.card --product 1AJS2 time`},
}

const flagsHelp = `Flags (before or after the command):
  --card FILE      the server card (default: server.card)
  --product CODE   the product (default: from the key, or the saved license)
  --state DIR      where this installation keeps its key and lease (default:
                   $XDG_STATE_HOME/tollgate/<product> on Linux,
                   %ProgramData%\Tollgate\<product> on Windows)
  --system         use the system-wide state directory (/var/lib/tollgate/<product>)
  --base CODE      the product is a plug-in of product CODE: use the installation
                   of CODE (its install key) and activate only beside its license
  --base-state DIR the base product's state directory (default: as --state's
                   default, for CODE)
  --explicit ID    use this publisher-chosen machine identifier as the fingerprint
                   (containers and VMs whose hardware changes at every start)
  --offline        validate only: do not ask the server
  --out FILE       request and release only: the file to write
  --lang LANG      the language of the messages: de, en, es, he or ru (default:
                   the user's: LC_ALL, LC_MESSAGES or LANG; Windows' display
                   language), English where a message has no text in it
  --json           print the answer, errors included, as one JSON object on stdout
  -h, --help       show help (tollgate-client COMMAND --help: the command's)

Exit status: 0 licensed (or done), 1 not licensed, 2 could not decide
(network, server, usage), 3 the server card does not match the server
(a wrong or tampered card).
`

func usage() string {
	var b strings.Builder
	b.WriteString("tollgate-client activates and checks a license on this machine.\n\nUsage:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  tollgate-client [flags] %-16s %s\n", strings.TrimSpace(c.Name+" "+c.Args), c.Summary)
	}
	fmt.Fprintf(&b, "  tollgate-client [flags] %-16s %s\n\n", "help [COMMAND]", "show this help, or a command's")
	b.WriteString(flagsHelp)
	return b.String()
}

func commandUsage(c cli.Command) string {
	return fmt.Sprintf("Usage: tollgate-client [flags] %s\n\n%s\n\n%s", strings.TrimSpace(c.Name+" "+c.Args), c.Help, flagsHelp)
}

func lookup(name string) (cli.Command, bool) { return cli.Lookup(commands, name) }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	card, product, state, explicit string
	out                            string // request, release: the file to write
	lang                           string
	base, baseState                string
	system, json, offline          bool
	stdout, stderr                 io.Writer
}

// fail reports an error in the style asked for (JSON on stdout, or a
// sentence on stderr) and returns code.
func (o *options) fail(code int, a cli.Answer) int {
	cli.Fail(o.stdout, o.stderr, o.json, "tollgate-client", a)
	return code
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tollgate-client", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := options{stdout: stdout, stderr: stderr, json: cli.WantsJSON(args)}
	fs.StringVar(&o.card, "card", "server.card", "server card")
	fs.StringVar(&o.product, "product", "", "product code")
	fs.StringVar(&o.state, "state", "", "state directory")
	fs.StringVar(&o.explicit, "explicit", "", "explicit machine identifier")
	fs.StringVar(&o.base, "base", "", "a plug-in's base product code")
	fs.StringVar(&o.baseState, "base-state", "", "the base product's state directory")
	fs.BoolVar(&o.system, "system", false, "system-wide state directory")
	fs.BoolVar(&o.json, "json", o.json, "JSON output")
	fs.BoolVar(&o.offline, "offline", false, "validate without the server")
	fs.StringVar(&o.out, "out", "", "the file request and release write")
	fs.StringVar(&o.lang, "lang", "", "language of the messages")
	pos, err := cli.Parse(fs, args)
	if cli.IsHelp(err) || len(pos) > 0 && pos[0] == "help" {
		return help(pos, args, stdout, stderr)
	}
	if err != nil {
		return o.fail(exitUndecided, cli.Usage("tollgate-client help", "%v.", err))
	}
	if len(pos) == 0 {
		fmt.Fprint(stderr, usage())
		return o.fail(exitUndecided, cli.Usage("tollgate-client help", "Give a command."))
	}
	cmd, ok := lookup(pos[0])
	if !ok {
		return o.fail(exitUndecided, cli.Usage("tollgate-client help", "Unknown command %q.", pos[0]))
	}
	rest := pos[1:]
	helpOf := "tollgate-client " + cmd.Name + " --help"
	if len(rest) != cmd.NArgs {
		return o.fail(exitUndecided, cli.Usage(helpOf, "%s takes %d argument(s), not %d.", cmd.Name, cmd.NArgs, len(rest)))
	}
	if o.offline && cmd.Name != "validate" {
		return o.fail(exitUndecided, cli.Usage(helpOf, "--offline is a flag of validate only."))
	}
	if o.out != "" && cmd.Name != "request" && cmd.Name != "release" {
		return o.fail(exitUndecided, cli.Usage(helpOf, "--out is a flag of request and release only."))
	}
	if code, done := o.offlinePrepare(cmd.Name, rest); done {
		return code
	}
	var key keygen.Key
	if cmd.Name == "activate" || cmd.Name == "request" {
		if key, err = keygen.ParseKey(rest[0]); err != nil {
			d := clients.Localize(clients.Decision{Message: "That is not a valid license key.", Action: "Check the key for typos."}, o.lang)
			return o.fail(exitNotLicensed, cli.Answer{Status: "malformed-key", Message: d.Message, Action: d.Action})
		}
		if o.product == "" {
			o.product = key.Product().String()
		}
	}
	if cmd.Name == "trial" && o.product == "" {
		return o.fail(exitUndecided, cli.Usage(helpOf, "Say which product's trial with --product CODE."))
	}
	l, code := o.open(cmd.Name)
	if l == nil {
		return code
	}
	defer l.Close()
	if err := l.Damaged(); err != nil {
		fmt.Fprintf(stderr, "Note: part of the saved license state was damaged (%v); it is fetched again from the server.\n", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch cmd.Name {
	case "activate":
		return o.decision(l.Activate(ctx, key))
	case "trial":
		return o.decision(l.StartTrial(ctx))
	case "validate":
		if o.offline {
			return o.decision(l.CheckOffline())
		}
		return o.decision(l.CheckNow(ctx))
	case "status":
		return o.status(l.Status())
	case "deactivate":
		return o.deactivate(l.Deactivate(ctx))
	case "checkout":
		return o.checkout(ctx, l)
	case "fingerprint":
		return o.fingerprint(l.FingerprintReport())
	case "request":
		return o.request(l, key)
	case "import":
		return o.importLease(l, rest[0])
	case "release":
		return o.release(l)
	default: // time
		return o.time(ctx, l)
	}
}

// help prints the help asked for: a command's when one is named (before
// or after --help, or after "help"), else the whole usage.
func help(pos, args []string, stdout, stderr io.Writer) int {
	names := pos
	if len(pos) > 0 && pos[0] == "help" {
		names = pos[1:]
	} else {
		names = append(names, args...)
	}
	for _, n := range names {
		if c, ok := lookup(n); ok {
			fmt.Fprint(stdout, commandUsage(c))
			return exitLicensed
		}
	}
	if len(pos) > 1 && pos[0] == "help" {
		fmt.Fprintf(stderr, "tollgate-client: unknown command %q.\n\n%s", pos[1], usage())
		return exitUndecided
	}
	fmt.Fprint(stdout, usage())
	return exitLicensed
}

// open finds the product and state directory and opens the Licensee; on
// failure it has said why and returns the exit code.
func (o *options) open(cmd string) (*clients.Licensee, int) {
	card, err := wire.LoadCard(o.card)
	if err != nil {
		return nil, o.fail(exitUndecided, cli.Answer{Status: "bad-card", Message: fmt.Sprintf("Cannot read the server card %s: %v.", o.card, err),
			Action: "Give the program's server card with --card FILE."})
	}
	if o.product == "" && o.state != "" {
		o.product = clients.SavedProduct(o.state)
	}
	if o.product == "" && o.state != "" && cmd != "fingerprint" && cmd != "time" {
		// Nothing saved names the product: nothing is activated there.
		if cmd == "status" {
			return nil, o.status(clients.Status{})
		}
		return nil, o.decision(clients.Localize(clients.Decision{Reason: clients.ReasonNotActivated, Message: "No license is activated on this machine.",
			Action: "Activate the program with your license key."}, o.lang))
	}
	if o.product == "" {
		return nil, o.fail(exitUndecided, cli.Usage("tollgate-client "+cmd+" --help", "Say which product with --product CODE (or point --state at an activated installation)."))
	}
	l, err := clients.OpenLicensee(clients.LicenseeConfig{
		Card: card, Product: strings.ToUpper(o.product), StateDir: o.state, System: o.system,
		Explicit: o.explicit, AppVersion: "tollgate-client", Language: o.lang, Base: o.base, BaseStateDir: o.baseState,
		OnHeartbeat: o.heartbeatNote,
	})
	switch {
	case errors.Is(err, clients.ErrInstallKeyDamaged):
		msg := strings.TrimPrefix(err.Error(), "clients: ")
		return nil, o.fail(exitNotLicensed, cli.Answer{Status: "install-key-damaged", Message: msg + "."})
	case errors.Is(err, clients.ErrConfig):
		return nil, o.fail(exitUndecided, cli.Usage("tollgate-client "+cmd+" --help", "%s.", strings.TrimPrefix(err.Error(), "clients: ")))
	case err != nil:
		return nil, o.fail(exitUndecided, cli.Answer{Status: "error", Message: fmt.Sprintf("Cannot open the license state: %v.", err)})
	}
	return l, exitLicensed
}

// decisionJSON is a Decision as tollgate-client prints it: status is its
// reason.
type decisionJSON struct {
	cli.Answer
	Allowed      bool     `json:"allowed"`
	Warning      string   `json:"warning,omitempty"`
	Entitlements []string `json:"entitlements"`
	Level        int      `json:"level,omitempty"`
	Contact      string   `json:"contact,omitempty"`
	MessageID    string   `json:"message_id,omitempty"`
	Language     string   `json:"language,omitempty"`
	RetryAt      int64    `json:"retry_at,omitempty"` // Unix seconds: when a floating seat frees up
}

func (o *options) decision(d clients.Decision) int {
	if d.Reason == clients.ReasonOtherLicense && d.Language == "en" {
		state := o.state
		if state == "" {
			state = "DIR"
		}
		d.Action = fmt.Sprintf("Deactivate it first ('tollgate-client --state %s deactivate'), or give this product a state directory of its own (--state).", state)
	}
	code := exitLicensed
	switch {
	case d.Reason == clients.ReasonWrongCard:
		code = exitWrongCard
	case !d.Decided():
		code = exitUndecided
	case !d.Allowed:
		code = exitNotLicensed
	}
	if o.json {
		out := decisionJSON{Answer: cli.Answer{Status: string(d.Reason), Message: d.Message, Action: d.Action}, Allowed: d.Allowed,
			Warning: d.Warning, Entitlements: d.Entitlements, Level: int(d.Level), Contact: string(d.Contact),
			MessageID: d.MessageID, Language: d.Language, RetryAt: d.RetryAt}
		if out.Entitlements == nil {
			out.Entitlements = []string{}
		}
		if d.Status != wire.StatusOK {
			out.Answer.ServerStatus = d.Status.String()
		}
		cli.Emit(o.stdout, out)
		return code
	}
	w := o.stdout
	if !d.Allowed {
		w = o.stderr
	}
	fmt.Fprintln(w, d.Message)
	if d.Warning != "" {
		fmt.Fprintln(w, d.Warning)
	}
	if d.Action != "" {
		fmt.Fprintln(w, d.Action)
	}
	// A no-seat refusal's RetryAt is in its Action, in the user's language
	// ("try again after ..."); --json gives it as retry_at.
	if d.Allowed && len(d.Entitlements) > 0 {
		fmt.Fprintf(w, "Features: %s.\n", strings.Join(d.Entitlements, ", "))
	}
	return code
}

// libStatus names clients.Status for embedding beside cli.Answer's
// Status field.
type libStatus = clients.Status

func (o *options) status(s clients.Status) int {
	code, a := exitLicensed, cli.Answer{Status: "ok", Message: "The saved license is valid on this machine."}
	switch {
	case !s.Activated:
		code, a = exitNotLicensed, cli.Answer{Status: string(clients.ReasonNotActivated), Message: "No license is activated on this machine."}
	case s.Lease != "":
		code, a = exitNotLicensed, cli.Answer{Status: s.Lease, Message: fmt.Sprintf("The saved license cannot be used offline (%s).", s.Lease),
			Action: "Run 'tollgate-client validate' while connected."}
	}
	if o.json {
		cli.Emit(o.stdout, struct {
			cli.Answer
			libStatus
		}{a, s})
		return code
	}
	w := o.stdout
	if !s.Activated {
		fmt.Fprintln(w, a.Message)
		return code
	}
	date := func(t time.Time, zero string) string {
		if t.IsZero() {
			return zero
		}
		return t.Format("2006-01-02 15:04 UTC")
	}
	fmt.Fprintf(w, "License:             %s\n", s.License)
	fmt.Fprintf(w, "Product:             %s\n", orNone(s.Product))
	fmt.Fprintf(w, "Features:            %s\n", orNone(strings.Join(s.Entitlements, ", ")))
	fmt.Fprintf(w, "License expires:     %s\n", date(s.LicenseExpiry, "never"))
	fmt.Fprintf(w, "Offline lease until: %s\n", date(s.LeaseExpiry, "none"))
	if s.Level != 0 {
		fmt.Fprintf(w, "Validation level:    %d (%s)\n", s.Level, wire.LeaseLevel(s.Level))
	}
	if !s.OnlineBy.IsZero() {
		fmt.Fprintf(w, "Server check due by: %s\n", date(s.OnlineBy, ""))
	}
	fmt.Fprintf(w, "Days left offline:   %d\n", s.DaysOffline)
	fmt.Fprintf(w, "Last server contact: %s\n", date(s.LastContact, "never"))
	fmt.Fprintln(w, strings.TrimSpace(a.Message+" "+a.Action))
	return code
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (o *options) deactivate(err error) int {
	if err == nil {
		a := cli.Answer{Status: "ok", Message: "Deactivated: the seat is free for another machine."}
		if o.json {
			cli.Emit(o.stdout, struct {
				cli.Answer
				Deactivated bool `json:"deactivated"`
			}{a, true})
		} else {
			fmt.Fprintln(o.stdout, a.Message)
		}
		return exitLicensed
	}
	var se *wire.StatusError
	switch {
	case errors.Is(err, clients.ErrConfig):
		return o.fail(exitNotLicensed, cli.Answer{Status: string(clients.ReasonNotActivated), Message: "No license is activated on this machine."})
	case errors.As(err, &se) && !se.Retryable():
		return o.fail(exitNotLicensed, cli.Answer{Status: string(clients.ReasonRefused), Message: fmt.Sprintf("The license server refused: %s.", se.Message)})
	}
	return o.fail(exitUndecided, cli.Answer{Status: contact(err),
		Message: "The license server could not be reached, so the seat was not freed.", Action: "Try again when connected."})
}

func (o *options) fingerprint(r clients.FingerprintReport) int {
	if o.json {
		cli.Emit(o.stdout, struct {
			cli.Answer
			clients.FingerprintReport
		}{cli.Answer{Status: "ok", Message: "This machine's fingerprint."}, r})
		return exitLicensed
	}
	w := o.stdout
	fmt.Fprintln(w, "This machine's fingerprint (salted hashes; no hardware identifier leaves the machine):")
	for _, c := range r.Components {
		fmt.Fprintf(w, "  %-13s %s\n", c.Kind, c.Hash)
	}
	switch {
	case !r.HasLease:
		fmt.Fprintln(w, "No license is activated here, so there is nothing to compare with.")
	case len(r.Changed) == 0:
		fmt.Fprintln(w, "Nothing changed since the license was activated.")
	case r.SameMachine:
		fmt.Fprintf(w, "Changed since activation: %s. Most components are unchanged, so this is still the same machine.\n", strings.Join(r.Changed, ", "))
	default:
		fmt.Fprintf(w, "Changed since activation: %s. Too much changed: the license server will see another machine.\n", strings.Join(r.Changed, ", "))
	}
	return exitLicensed
}

func (o *options) time(ctx context.Context, l *clients.Licensee) int {
	t, err := l.ServerTime(ctx)
	if err != nil {
		return o.fail(exitUndecided, cli.Answer{Status: contact(err), Message: fmt.Sprintf("The license server could not be asked for its time: %v.", err)})
	}
	local := time.Now()
	off := local.Sub(t).Round(time.Second)
	if o.json {
		cli.Emit(o.stdout, struct {
			cli.Answer
			ServerTime    time.Time `json:"server_time"`
			LocalTime     time.Time `json:"local_time"`
			OffsetSeconds float64   `json:"offset_seconds"`
		}{cli.Answer{Status: "ok", Message: fmt.Sprintf("This machine's clock is %s off the server's.", off)}, t.UTC(), local.UTC(), off.Seconds()})
		return exitLicensed
	}
	fmt.Fprintf(o.stdout, "Server time: %s\nThis machine: %s (%s off)\n", t.UTC().Format(time.RFC3339), local.UTC().Format(time.RFC3339), off)
	return exitLicensed
}

// contact names why the server could not be asked, as Decision.Contact
// does.
func contact(err error) string {
	switch {
	case errors.Is(err, clients.ErrHandshake):
		return string(clients.ReasonWrongServer)
	case errors.Is(err, clients.ErrTimeout):
		return string(clients.ReasonTimeout)
	case errors.Is(err, clients.ErrUnreachable):
		return string(clients.ReasonUnreachable)
	}
	return string(clients.ReasonConnection)
}
