package pebblestore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/store"
)

// eventHead is the last sequence number of one shop's event stream, read
// once from the store and then kept; mu serialises the appends to the
// stream, so that the numbers have no gaps and follow the order in which
// the batches are applied.
type eventHead struct {
	mu   sync.Mutex
	init bool
	seq  uint64
}

// headOf returns the event head of shop.
func (b *Backend) headOf(shop string) *eventHead {
	if h, ok := b.shopEvents.Load(shop); ok {
		return h.(*eventHead)
	}
	h, _ := b.shopEvents.LoadOrStore(shop, new(eventHead))
	return h.(*eventHead)
}

// lastEvent reads the sequence number of shop's last event (0: none), the
// last key of its stream.
func (b *Backend) lastEvent(shop string) (uint64, error) {
	pfx := eventPrefix(shop)
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: pfx, UpperBound: prefixEnd(pfx)})
	if err != nil {
		return 0, fmt.Errorf("store: iterate: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		if err := it.Error(); err != nil {
			return 0, fmt.Errorf("store: iterate: %w", err)
		}
		return 0, nil
	}
	k := it.Key()
	if len(k) != len(pfx)+8 {
		return 0, fmt.Errorf("%w: event key of shop %q", store.ErrCorrupt, shop)
	}
	return binary.BigEndian.Uint64(k[len(pfx):]), nil
}

// commitEvents writes what fill puts in a batch, the events (all of one
// shop) numbered after the shop's last and, when not nil, the audit entry
// e, in one durable commit. The batch is applied under the shop's event
// lock (and, with e, the audit lock inside it), so that the stream's
// numbers follow the order of the commits; the wait for the fsync comes
// after the locks are released, as in commitAudited.
func (b *Backend) commitEvents(events []store.Event, e *store.AuditEntry, fill func(*pebble.Batch) error) error {
	if b.closed.Load() {
		return store.ErrClosed
	}
	shop := events[0].Shop
	for i := range events {
		if events[i].Shop != shop {
			return fmt.Errorf("%w: one commit's events are of one shop", store.ErrConfig)
		}
	}
	batch := b.db.NewBatch()
	defer batch.Close()
	if err := fill(batch); err != nil {
		return err
	}
	if err := b.applyEvents(batch, shop, events, e); err != nil {
		return err
	}
	if err := batch.SyncWait(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// applyEvents numbers events, puts them in batch and applies it (with the
// audit entry e, when not nil) under shop's event lock, without waiting
// for the fsync.
func (b *Backend) applyEvents(batch *pebble.Batch, shop string, events []store.Event, e *store.AuditEntry) error {
	_, err := b.withHead(shop, func(seq uint64) (uint64, error) {
		seq, err := putEvents(batch, shop, seq, events)
		if err != nil {
			return 0, err
		}
		if e != nil {
			err = b.applyAudited(batch, *e)
		} else if err = b.db.ApplyNoSyncWait(batch, pebble.Sync); err != nil {
			err = fmt.Errorf("store: commit: %w", err)
		}
		return seq, err
	})
	return err
}

// withHead runs fn under shop's event lock with the sequence number of
// its last event; fn returns the last after what it applied, which the
// head takes unless fn fails. It returns fn's sequence number.
func (b *Backend) withHead(shop string, fn func(seq uint64) (uint64, error)) (uint64, error) {
	h := b.headOf(shop)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.init {
		seq, err := b.lastEvent(shop)
		if err != nil {
			return 0, err
		}
		h.seq, h.init = seq, true
	}
	seq, err := fn(h.seq)
	if err != nil {
		return 0, err
	}
	h.seq = seq
	return seq, nil
}

// putEvents puts events in batch numbered after seq, and returns the last
// number.
func putEvents(batch *pebble.Batch, shop string, seq uint64, events []store.Event) (uint64, error) {
	for _, ev := range events {
		seq++
		ev.Seq = seq
		v, err := json.Marshal(ev)
		if err != nil {
			return 0, fmt.Errorf("store: encode event: %w", err)
		}
		if err := batch.Set(eventKey(shop, seq), v, nil); err != nil {
			return 0, fmt.Errorf("store: batch: %w", err)
		}
	}
	return seq, nil
}

// AppendExpiring appends the expiring event e to its shop's stream with
// the record of it (the license and end), under the shop's event lock,
// unless that record exists: one gateway holds a Pebble directory, and
// the lock orders the check and the write.
func (b *Backend) AppendExpiring(e store.Event, end int64) (bool, error) {
	if err := store.CheckExpiring(&e); err != nil {
		return false, err
	}
	if b.closed.Load() {
		return false, store.ErrClosed
	}
	batch := b.db.NewBatch()
	defer batch.Close()
	added := false
	_, err := b.withHead(e.Shop, func(seq uint64) (uint64, error) {
		key := expiringKey(e.License, end)
		if v, err := b.get(key); err != nil || v != nil {
			return seq, err
		}
		seq, err := putEvents(batch, e.Shop, seq, []store.Event{e})
		if err != nil {
			return 0, err
		}
		if err := batch.Set(key, binary.BigEndian.AppendUint64(nil, seq), nil); err != nil {
			return 0, fmt.Errorf("store: batch: %w", err)
		}
		if err := b.db.ApplyNoSyncWait(batch, pebble.Sync); err != nil {
			return 0, fmt.Errorf("store: commit: %w", err)
		}
		added = true
		return seq, nil
	})
	if err != nil || !added {
		return false, err
	}
	if err := batch.SyncWait(); err != nil {
		return false, fmt.Errorf("store: commit: %w", err)
	}
	return true, nil
}

// ShopEvents returns the events of shop's stream with Seq above after, in
// order, at most limit of them: one bounded scan from after's key.
func (b *Backend) ShopEvents(shop string, after uint64, limit int) ([]store.Event, error) {
	if err := store.CheckEventsPage(shop, limit); err != nil {
		return nil, err
	}
	if b.closed.Load() {
		return nil, store.ErrClosed
	}
	if after == ^uint64(0) {
		return nil, nil
	}
	pfx := eventPrefix(shop)
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: eventKey(shop, after+1), UpperBound: prefixEnd(pfx)})
	if err != nil {
		return nil, fmt.Errorf("store: iterate: %w", err)
	}
	defer it.Close()
	var out []store.Event
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		var ev store.Event
		if err := json.Unmarshal(it.Value(), &ev); err != nil {
			return nil, fmt.Errorf("%w: event of shop %q: %w", store.ErrCorrupt, shop, err)
		}
		k := it.Key()
		if len(k) != len(pfx)+8 || binary.BigEndian.Uint64(k[len(pfx):]) != ev.Seq || ev.Shop != shop {
			return nil, fmt.Errorf("%w: event of shop %q out of place", store.ErrCorrupt, shop)
		}
		out = append(out, ev)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("store: iterate: %w", err)
	}
	return out, nil
}
