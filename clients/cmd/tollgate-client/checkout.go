package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/wire"
)

// checkoutCommand is the help of 'tollgate-client checkout'.
var checkoutCommand = struct{ summary, help string }{
	summary: "hold a floating seat until stopped (Ctrl-C, SIGTERM)",
	help: `Checks out a seat of a floating license and holds it, heartbeating (every
third of the checkout time), until interrupted (Ctrl-C) or terminated
(SIGTERM); then checks the seat in, so another machine may take it at once.
A process killed outright (SIGKILL, power loss) cannot check in: its seat is
free again when its checkout time runs out. Activate the key once first
('tollgate-client activate KEY'); the binding stays, and checkout needs no key.
Refused when every seat is held ("no-seat", with when to retry: retry_at in
--json, Unix seconds).

Example:
  tollgate-client --card server.card --product 1FJS3 checkout`,
}

// checkout holds a floating seat until SIGINT or SIGTERM. l is closed
// (which checks the seat in) before it returns.
func (o *options) checkout(ctx context.Context, l *clients.Licensee) int {
	d := l.CheckNow(ctx)
	if !d.Allowed || d.Level != wire.LevelFloating {
		if d.Allowed {
			d.Message += " This license's seats are not floating: it needs no checkout."
		}
		return o.decision(d)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	s := l.Status()
	fmt.Fprintf(o.stderr, "checked out: holding a floating seat until %s, renewed by heartbeats; stop with Ctrl-C or SIGTERM to check it in\n", s.LeaseExpiry.UTC().Format(time.RFC3339))
	code := o.decision(d)
	got := <-sig
	if err := l.Close(); err != nil {
		fmt.Fprintf(o.stderr, "closing: %v\n", err)
	}
	fmt.Fprintf(o.stderr, "%v: checked the floating seat in\n", got)
	return code
}

// heartbeatNote prints the outcome of a heartbeat of a held seat.
func (o *options) heartbeatNote(d clients.Decision) {
	if d.Allowed {
		fmt.Fprintf(o.stderr, "heartbeat: %s\n", d.Message)
		return
	}
	fmt.Fprintf(o.stderr, "heartbeat: the seat is not held: %s %s\n", d.Message, d.Action)
}
