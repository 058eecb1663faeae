package pgstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// errRace is what a transaction's function returns when another process
// committed what it was about to (an order, a shop of the same name, found
// by a unique constraint): the transaction is run again, and then finds
// it.
var errRace = errors.New("pgstore: placed meanwhile by another process")

// maxRaceRetries bounds the runs again after errRace (each finds what the
// other process committed, so one is enough but for a second race).
const maxRaceRetries = 5

// serializable runs fn in a SERIALIZABLE transaction, committed when fn
// returns nil and rolled back otherwise, until it commits, fails otherwise
// or ctx ends. A run that fails to serialise, loses a deadlock, finds its
// connection broken before sending anything, or returns errRace, is run
// again from the start after a short random pause (so that the runners-up
// of a contended row do not return in step). op names the operation in
// errors (Backend.fail).
func (b *Backend) serializable(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	if err := b.errIfClosed(); err != nil {
		return err
	}
	pause := time.Millisecond
	races := 0
	for {
		err := pgx.BeginTxFunc(ctx, b.pool, pgx.TxOptions{IsoLevel: pgx.Serializable}, fn)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errRace):
			if races++; races > maxRaceRetries {
				return b.fail(op, errors.New("a unique key kept being taken by concurrent transactions"))
			}
		case !retryable(err) || ctx.Err() != nil:
			return b.fail(op, err)
		}
		b.retries.Add(1)
		t := time.NewTimer(pause/2 + rand.N(pause))
		select {
		case <-ctx.Done():
			t.Stop()
			return b.fail(op, ctx.Err())
		case <-t.C:
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}
