package main

import (
	"encoding/json"
	"flag"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/tollgate/tollgate/clients/bridge"
	"github.com/tollgate/tollgate/clients/internal/cli"
)

func newFlagSet(name string) *flag.FlagSet {
	return flag.NewFlagSet("tollgate-shop "+name, flag.ContinueOnError)
}

// events lists the events the bridge gave up (--failed), or follows the
// shop's events and prints each as a JSON line (--follow).
func (s *shop) events(args []string) int {
	fs := newFlagSet("events")
	cf := addConnFlags(fs)
	failed := fs.Bool("failed", false, "list the events not delivered to every webhook in time (needs --state)")
	stateDir := fs.String("state", "", "the bridge's state directory (serve --state)")
	follow := fs.Bool("follow", false, "print the shop's events as JSON lines as they happen, until interrupted")
	after := fs.Uint64("after", 0, "with --follow: start after this event id")
	pos, code, done := s.parse("events", fs, args)
	if done {
		return code
	}
	usageErr := func(format string, a ...any) int {
		return s.fail(cli.ExitUsage, cli.Usage("tollgate-shop events --help", format, a...))
	}
	switch {
	case len(pos) > 0:
		return usageErr("events takes no arguments.")
	case *failed == *follow:
		return usageErr("Give one of --failed or --follow.")
	case *failed && *stateDir == "":
		return usageErr("--failed needs --state DIR, the bridge's state directory.")
	}
	enc := json.NewEncoder(s.stdout)
	if *failed {
		if _, err := os.Stat(*stateDir); err != nil {
			return usageErr("--state %s is not a directory the bridge wrote.", *stateDir)
		}
		st, err := bridge.OpenState(*stateDir)
		if err != nil {
			return s.failErr(err)
		}
		evs, err := st.Failed()
		if err != nil {
			return s.failErr(err)
		}
		if s.json {
			cli.Emit(s.stdout, struct {
				cli.Answer
				Failed []bridge.FailedEvent `json:"failed"`
			}{cli.Answer{Status: "ok", Message: plural(len(evs), "event") + " not delivered."}, append([]bridge.FailedEvent{}, evs...)})
			return cli.ExitOK
		}
		for _, e := range evs {
			enc.Encode(e)
		}
		if len(evs) == 0 {
			s.stderr.Write([]byte("tollgate-shop: no failed events.\n"))
		}
		return cli.ExitOK
	}
	c, err := cf.dial()
	if err != nil {
		return s.failErr(err)
	}
	defer c.Close()
	var src bridge.EventSource = c
	ctx, stop := signal.NotifyContext(s.context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cursor, idle := *after, time.Second
	for {
		evs, err := src.Events(ctx, cursor, 100)
		if ctx.Err() != nil {
			return cli.ExitOK
		}
		if err != nil {
			return s.failErr(err)
		}
		for _, e := range evs {
			enc.Encode(bridge.EventOf(e))
			cursor = e.Seq
		}
		// Poll again at once after a full batch, after 1 s after a
		// partial one, backing off to 30 s while there are none.
		wait := time.Duration(0)
		switch {
		case len(evs) == 100:
			idle = time.Second
		case len(evs) > 0:
			wait, idle = time.Second, time.Second
		default:
			wait, idle = idle, min(2*idle, 30*time.Second)
		}
		select {
		case <-ctx.Done():
			return cli.ExitOK
		case <-time.After(wait):
		}
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
