package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/clients/internal/cli"
	"github.com/tollgate/tollgate/keygen"
)

// resetSeat runs reset-seat: a customer's self-service seat reset.
func (s *shop) resetSeat(args []string) int {
	fs := flag.NewFlagSet("tollgate-shop reset-seat", flag.ContinueOnError)
	cf := addConnFlags(fs)
	machine := fs.String("machine", "", "the hostname of the machine whose seat to free, as 'status' lists it")
	all := fs.Bool("all", false, "free every seat of the license")
	pos, code, done := s.parse("reset-seat", fs, args)
	if done {
		return code
	}
	switch {
	case len(pos) != 1:
		return s.fail(cli.ExitUsage, cli.Usage("tollgate-shop reset-seat --help", "Give one license key: tollgate-shop reset-seat [flags] KEY."))
	case (*machine == "") == !*all:
		return s.fail(cli.ExitUsage, cli.Usage("tollgate-shop reset-seat --help", "Say which seat to free: --machine HOSTNAME (as 'status' lists it) or --all, not both."))
	}
	k, err := keygen.ParseKey(pos[0])
	if err != nil {
		return s.fail(cli.ExitFail, cli.Answer{Status: "malformed-key", Message: "That is not a valid license key."})
	}
	c, err := cf.dial()
	if err != nil {
		return s.failErr(err)
	}
	defer c.Close()
	r, err := c.ResetSeat(context.Background(), k, *machine)
	if err != nil {
		return s.failErr(err)
	}
	msg := fmt.Sprintf("%s: %d seat(s) freed, %d of %d in use; %d self-service reset(s) left in 30 days.", k, r.Freed, r.SeatsUsed, r.Seats, r.ResetsLeft)
	if !r.NextReset.IsZero() {
		msg = fmt.Sprintf("%s: %d seat(s) freed, %d of %d in use; no self-service reset left until %s.", k, r.Freed, r.SeatsUsed, r.Seats, r.NextReset.Format(time.RFC3339))
	}
	if s.json {
		cli.Emit(s.stdout, struct {
			cli.Answer
			Key string `json:"key"`
			clients.SeatReset
		}{cli.Answer{Status: "ok", Message: msg}, k.String(), *r})
		return cli.ExitOK
	}
	fmt.Fprintln(s.stdout, msg)
	return cli.ExitOK
}
