// Command tollgate-client activates, validates and deactivates a license on
// this machine, as a program that links the clients library would.
//
// Exit codes: 0 licensed (or done), 1 not licensed, 2 could not decide
// (network, server, usage).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
  tollgate-client [--card FILE] [--state DIR] activate KEY
  tollgate-client [--card FILE] [--state DIR] validate
  tollgate-client [--card FILE] [--state DIR] deactivate
  tollgate-client [--card FILE] [--state DIR] time

Flags:
  --card FILE   the server card (default: server.card)
  --state DIR   where this installation keeps its key and lease
                (default: $XDG_STATE_HOME/tollgate/default)

Exit status: 0 licensed, 1 not licensed, 2 could not decide.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tollgate-client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	cardPath := fs.String("card", "server.card", "server card")
	stateDir := fs.String("state", defaultState(), "state directory")
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
	card, err := wire.LoadCard(*cardPath)
	if err != nil {
		fmt.Fprintf(stderr, "Cannot read the server card: %v\n", err)
		return exitUndecided
	}
	st, damaged, err := clients.LoadState(*stateDir)
	if err != nil {
		fmt.Fprintf(stderr, "Cannot open the license state in %s: %v\n", *stateDir, err)
		return exitUndecided
	}
	if damaged != nil {
		fmt.Fprintf(stderr, "Note: %v; it will be replaced from the server.\n", damaged)
	}
	c, err := clients.New(clients.Config{Card: card, InstallKey: st.InstallKey})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUndecided
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	product := ""
	fp := func() wire.Fingerprint { return clients.Fingerprint(product, clients.MachineComponents()) }

	switch cmd := fs.Arg(0); cmd {
	case "activate":
		if fs.NArg() != 2 {
			fmt.Fprintln(stderr, "Usage: tollgate-client activate KEY")
			return exitUndecided
		}
		key, err := keygen.ParseKey(fs.Arg(1))
		if err != nil {
			fmt.Fprintf(stderr, "That is not a valid license key (%v). Check it for typos.\n", err)
			return exitNotLicensed
		}
		product = key.Product().String()
		res, err := c.Activate(ctx, key, fp(), clients.Hostname(), "tollgate-client")
		if err != nil {
			return report(stderr, err)
		}
		st.LicenseID, st.HasLicense, st.Lease = res.LicenseID, true, res.Lease
		if err := st.Save(); err != nil {
			fmt.Fprintf(stderr, "Activated, but the license could not be saved: %v\n", err)
			return exitUndecided
		}
		fmt.Fprintf(stdout, "Activated %s on this machine.\n", key)
		return exitLicensed
	case "validate", "deactivate":
		if !st.HasLicense {
			fmt.Fprintln(stderr, "No license is activated in this state directory. Run 'tollgate-client activate KEY' first.")
			return exitNotLicensed
		}
		if st.Lease != nil {
			if l, _, err := wire.ParseLease(st.Lease); err == nil {
				product = string(l.Product[:])
			}
		}
		if cmd == "deactivate" {
			if err := c.Deactivate(ctx, st.LicenseID); err != nil {
				return report(stderr, err)
			}
			st.HasLicense, st.Lease = false, nil
			if err := st.Save(); err != nil {
				fmt.Fprintf(stderr, "Deactivated, but the state could not be cleared: %v\n", err)
				return exitUndecided
			}
			fmt.Fprintln(stdout, "Deactivated: the seat is free for another machine.")
			return exitLicensed
		}
		res, err := c.Validate(ctx, st.LicenseID, fp(), uint64(time.Now().Unix()), st.Lease == nil)
		if err != nil {
			return report(stderr, err)
		}
		if res.Lease != nil {
			st.Lease = res.Lease
			if err := st.Save(); err != nil {
				fmt.Fprintf(stderr, "Warning: the new lease could not be saved: %v\n", err)
			}
		}
		fmt.Fprintln(stdout, "The license is valid on this machine.")
		return exitLicensed
	case "time":
		t, err := c.ServerTime(ctx)
		if err != nil {
			return report(stderr, err)
		}
		fmt.Fprintf(stdout, "Server time: %s (this machine: %s)\n", t.UTC().Format(time.RFC3339Nano), time.Now().UTC().Format(time.RFC3339Nano))
		return exitLicensed
	default:
		fmt.Fprintf(stderr, "Unknown command %q.\n\n%s", cmd, usage)
		return exitUndecided
	}
}

// report says what went wrong in a sentence and picks the exit code.
func report(stderr io.Writer, err error) int {
	var se *wire.StatusError
	if errors.As(err, &se) {
		fmt.Fprintf(stderr, "The license server refused: %s.\n", se.Message)
		if se.Retryable() {
			return exitUndecided
		}
		return exitNotLicensed
	}
	fmt.Fprintf(stderr, "Could not reach a decision: %v\n", err)
	return exitUndecided
}

func defaultState() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "tollgate", "default")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "tollgate", "default")
	}
	return "tollgate-state"
}
