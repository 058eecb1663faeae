package pgstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/store"
)

// appendEvents appends events (all of one shop) to the shop's stream in
// tx: the shop's head row is advanced by their number (created at 0 the
// first time), which locks it until tx ends, and the events take the
// numbers after its old value. Two transactions appending to one stream
// so take turns, and the loser of a race on a new head row fails to
// serialise and is run again (Backend.serializable).
func appendEvents(ctx context.Context, tx pgx.Tx, events []store.Event) error {
	shop := events[0].Shop
	for i := range events {
		if events[i].Shop != shop {
			return fmt.Errorf("%w: one commit's events are of one shop", store.ErrConfig)
		}
	}
	var last int64
	err := tx.QueryRow(ctx, `INSERT INTO tollgate_event_heads (shop, seq) VALUES ($1, $2)
		ON CONFLICT (shop) DO UPDATE SET seq = tollgate_event_heads.seq + excluded.seq RETURNING seq`,
		shop, int64(len(events))).Scan(&last)
	if err != nil {
		return fmt.Errorf("store: advance the event stream of shop %q: %w", shop, err)
	}
	seq := uint64(last) - uint64(len(events))
	var batch pgx.Batch
	for _, ev := range events {
		seq++
		ev.Seq = seq
		v, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("store: encode event: %w", err)
		}
		batch.Queue(`INSERT INTO tollgate_events (shop, seq, time, event) VALUES ($1, $2, $3, $4)`, shop, int64(seq), ev.Time, v)
	}
	if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
		return fmt.Errorf("store: append events of shop %q: %w", shop, err)
	}
	return nil
}

// AppendExpiring appends the expiring event e to its shop's stream with
// the row that records it (license, end), in one serializable
// transaction, unless that row exists: another gateway inserting it
// meanwhile makes this one fail to serialise, and its run again finds the
// row.
func (b *Backend) AppendExpiring(e store.Event, end int64) (bool, error) {
	if err := store.CheckExpiring(&e); err != nil {
		return false, err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	added := false
	err := b.serializable(ctx, "append an expiring event", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO tollgate_expiring_noted (license, expiry) VALUES ($1, $2) ON CONFLICT DO NOTHING`, e.License[:], end)
		if err != nil {
			return err
		}
		if added = tag.RowsAffected() == 1; !added {
			return nil
		}
		return appendEvents(ctx, tx, []store.Event{e})
	})
	if err != nil {
		return false, err
	}
	return added, nil
}

// ShopEvents returns the events of shop's stream with Seq above after, in
// order, at most limit of them: one range read of the primary key.
func (b *Backend) ShopEvents(shop string, after uint64, limit int) ([]store.Event, error) {
	if err := store.CheckEventsPage(shop, limit); err != nil {
		return nil, err
	}
	if err := b.errIfClosed(); err != nil {
		return nil, err
	}
	if after >= 1<<63-1 {
		return nil, nil // beyond any bigint sequence number
	}
	ctx, cancel := b.ctx()
	defer cancel()
	rows, err := b.pool.Query(ctx, `SELECT seq, event FROM tollgate_events WHERE shop = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
		shop, int64(after), limit)
	if err != nil {
		return nil, b.fail("read a shop's events", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var (
			seq int64
			v   []byte
		)
		if err := rows.Scan(&seq, &v); err != nil {
			return nil, b.fail("read a shop's events", err)
		}
		var ev store.Event
		if err := json.Unmarshal(v, &ev); err != nil {
			return nil, fmt.Errorf("%w: event %d of shop %q: %w", store.ErrCorrupt, seq, shop, err)
		}
		if ev.Seq != uint64(seq) || ev.Shop != shop {
			return nil, fmt.Errorf("%w: event %d of shop %q out of place", store.ErrCorrupt, seq, shop)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, b.fail("read a shop's events", err)
	}
	return out, nil
}
