package pgstore

import (
	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/store"
)

// WriteSeen raises the last-seen times and counters of activations to the
// values given (GREATEST: what another gateway wrote ahead stays), all in
// one transaction sent as one batch. A value of an activation that no
// longer exists is dropped. Values are written in the order of their
// activations' keys, so that two gateways writing the same activations do
// not deadlock.
func (b *Backend) WriteSeen(seen []store.Seen) error {
	if len(seen) == 0 {
		return b.errIfClosed()
	}
	merged := store.MergeSeen(seen)
	ctx, cancel := b.ctx()
	defer cancel()
	return b.serializable(ctx, "write last-seen times", func(tx pgx.Tx) error {
		var batch pgx.Batch
		for i := range merged {
			s := &merged[i]
			batch.Queue(`UPDATE tollgate_activations SET last_seen = GREATEST(last_seen, $3), counter = GREATEST(counter, $4)
				WHERE license = $1 AND install = $2 AND (last_seen < $3 OR counter < $4)`,
				s.License[:], s.Install[:], s.LastSeen, counterColumn(s.Counter))
		}
		return tx.SendBatch(ctx, &batch).Close()
	})
}
