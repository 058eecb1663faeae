// Command tollgate-client activates, checks and deactivates a license on
// this machine, as a program linking the clients library would, and shows
// a support desk what the saved license and the machine fingerprint say.
// It is a thin wrapper over clients.Licensee.
//
// Exit codes: 0 licensed (or done), 1 not licensed, 2 could not decide
// (network, server, usage).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

const (
	exitLicensed    = 0
	exitNotLicensed = 1
	exitUndecided   = 2
)

const usage = `tollgate-client activates and checks a license on this machine.

Usage:
  tollgate-client [flags] activate KEY   activate the license key on this machine
  tollgate-client [flags] validate       check the license (with the server when due)
  tollgate-client [flags] status         show the saved license, offline
  tollgate-client [flags] deactivate     free this machine's seat
  tollgate-client [flags] fingerprint    show this machine's fingerprint and what changed
  tollgate-client [flags] time           compare this machine's clock with the server's

Flags:
  --card FILE      the server card (default: server.card)
  --product CODE   the product (default: from the key, or the saved license)
  --state DIR      where this installation keeps its key and lease (default:
                   $XDG_STATE_HOME/tollgate/<product> on Linux,
                   %ProgramData%\Tollgate\<product> on Windows)
  --system         use the system-wide state directory (/var/lib/tollgate/<product>)
  --explicit ID    use this publisher-chosen machine identifier as the fingerprint
                   (containers and VMs whose hardware changes at every start)
  --json           print the answer as JSON

Exit status: 0 licensed, 1 not licensed, 2 could not decide.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	card, product, state, explicit string
	system, json                   bool
	stdout, stderr                 io.Writer
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tollgate-client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	o := options{stdout: stdout, stderr: stderr}
	fs.StringVar(&o.card, "card", "server.card", "server card")
	fs.StringVar(&o.product, "product", "", "product code")
	fs.StringVar(&o.state, "state", "", "state directory")
	fs.StringVar(&o.explicit, "explicit", "", "explicit machine identifier")
	fs.BoolVar(&o.system, "system", false, "system-wide state directory")
	fs.BoolVar(&o.json, "json", false, "JSON output")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitLicensed
		}
		return exitUndecided
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return exitUndecided
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	wantArgs := 0
	if cmd == "activate" {
		wantArgs = 1
	}
	if len(rest) != wantArgs {
		fmt.Fprintf(stderr, "Wrong number of arguments for %q.\n\n%s", cmd, usage)
		return exitUndecided
	}
	var key keygen.Key
	if cmd == "activate" {
		var err error
		if key, err = keygen.ParseKey(rest[0]); err != nil {
			fmt.Fprintln(stderr, "That is not a valid license key. Check it for typos.")
			return exitNotLicensed
		}
		if o.product == "" {
			o.product = key.Product().String()
		}
	}
	switch cmd {
	case "activate", "validate", "status", "deactivate", "fingerprint", "time":
	default:
		fmt.Fprintf(stderr, "Unknown command %q.\n\n%s", cmd, usage)
		return exitUndecided
	}
	l, code := o.open(cmd)
	if l == nil {
		return code
	}
	defer l.Close()
	if err := l.Damaged(); err != nil {
		fmt.Fprintf(stderr, "Note: part of the saved license state was damaged (%v); it is fetched again from the server.\n", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch cmd {
	case "activate":
		return o.decision(l.Activate(ctx, key))
	case "validate":
		return o.decision(l.Check(ctx))
	case "status":
		return o.status(l.Status())
	case "deactivate":
		return o.deactivate(l.Deactivate(ctx))
	case "fingerprint":
		return o.fingerprint(l.FingerprintReport())
	default: // time
		return o.time(ctx, l)
	}
}

// open finds the product and state directory and opens the Licensee; on
// failure it has said why and returns the exit code.
func (o *options) open(cmd string) (*clients.Licensee, int) {
	card, err := wire.LoadCard(o.card)
	if err != nil {
		fmt.Fprintf(o.stderr, "Cannot read the server card %s: %v\n", o.card, err)
		return nil, exitUndecided
	}
	if o.product == "" && o.state != "" {
		o.product = clients.SavedProduct(o.state)
	}
	if o.product == "" && o.state != "" && cmd != "fingerprint" && cmd != "time" {
		// Nothing saved names the product: nothing is activated there.
		if o.json {
			o.emit(clients.Status{})
		} else {
			fmt.Fprintln(o.stderr, "No license is activated on this machine.")
		}
		return nil, exitNotLicensed
	}
	if o.product == "" {
		fmt.Fprintln(o.stderr, "Say which product with --product CODE (or point --state at an activated installation).")
		return nil, exitUndecided
	}
	l, err := clients.OpenLicensee(clients.LicenseeConfig{
		Card: card, Product: strings.ToUpper(o.product), StateDir: o.state, System: o.system,
		Explicit: o.explicit, AppVersion: "tollgate-client",
	})
	if err != nil {
		fmt.Fprintf(o.stderr, "Cannot open the license state: %v\n", err)
		return nil, exitUndecided
	}
	return l, exitLicensed
}

func (o *options) emit(v any) {
	e := json.NewEncoder(o.stdout)
	e.SetIndent("", "  ")
	e.Encode(v)
}

func (o *options) decision(d clients.Decision) int {
	code := exitLicensed
	switch {
	case !d.Decided():
		code = exitUndecided
	case !d.Allowed:
		code = exitNotLicensed
	}
	if o.json {
		o.emit(d)
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
	if d.Allowed && len(d.Entitlements) > 0 {
		fmt.Fprintf(w, "Features: %s.\n", strings.Join(d.Entitlements, ", "))
	}
	return code
}

func (o *options) status(s clients.Status) int {
	code := exitLicensed
	if !s.Activated || s.Lease != "" {
		code = exitNotLicensed
	}
	if o.json {
		o.emit(s)
		return code
	}
	w := o.stdout
	if !s.Activated {
		fmt.Fprintln(w, "No license is activated on this machine.")
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
	if s.Lease != "" {
		fmt.Fprintf(w, "The saved license cannot be used offline (%s). Run 'tollgate-client validate' while connected.\n", s.Lease)
	} else {
		fmt.Fprintln(w, "The saved license is valid on this machine.")
	}
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
		if o.json {
			o.emit(map[string]bool{"Deactivated": true})
		} else {
			fmt.Fprintln(o.stdout, "Deactivated: the seat is free for another machine.")
		}
		return exitLicensed
	}
	var se *wire.StatusError
	switch {
	case errors.Is(err, clients.ErrConfig):
		fmt.Fprintln(o.stderr, "No license is activated on this machine.")
		return exitNotLicensed
	case errors.As(err, &se) && !se.Retryable():
		fmt.Fprintf(o.stderr, "The license server refused: %s.\n", se.Message)
		return exitNotLicensed
	}
	fmt.Fprintln(o.stderr, "The license server could not be reached, so the seat was not freed. Try again when connected.")
	return exitUndecided
}

func (o *options) fingerprint(r clients.FingerprintReport) int {
	if o.json {
		o.emit(r)
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
		fmt.Fprintf(o.stderr, "The license server could not be asked for its time: %v\n", err)
		return exitUndecided
	}
	local := time.Now()
	if o.json {
		o.emit(map[string]time.Time{"Server": t.UTC(), "Local": local.UTC()})
		return exitLicensed
	}
	fmt.Fprintf(o.stdout, "Server time: %s\nThis machine: %s (%s off)\n", t.UTC().Format(time.RFC3339), local.UTC().Format(time.RFC3339), local.Sub(t).Round(time.Second))
	return exitLicensed
}
