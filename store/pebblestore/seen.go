package pebblestore

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/store"
)

// A seen record (pfxSeen) holds an activation's last-seen time and counter
// as the write-behind flusher wrote them: 8 bytes each, big-endian. The
// activation's own record keeps the values of its last Update.

// mergeSeen raises a's last-seen time and counter to those of its seen
// record, if it has one: a counter never goes back. A seen record that
// cannot be read leaves a as it is.
func (b *Backend) mergeSeen(a *store.Activation) {
	if seen, err := b.get(activationKey(pfxSeen, a.License, a.Install)); err == nil && len(seen) == 16 {
		a.LastSeen = max(a.LastSeen, int64(binary.BigEndian.Uint64(seen)))
		a.Counter = max(a.Counter, binary.BigEndian.Uint64(seen[8:]))
	}
}

// WriteSeen writes last-seen times and counters in one batch, with one
// fsync.
func (b *Backend) WriteSeen(seen []store.Seen) error {
	if len(seen) == 0 {
		return nil
	}
	// In key order, as licenseKVs orders them (the memtable inserts each
	// next to the previous one), one value per activation.
	seen = store.MergeSeen(seen)
	return b.commit(func(batch *pebble.Batch) error {
		var v [16]byte
		for i := range seen {
			binary.BigEndian.PutUint64(v[:8], uint64(seen[i].LastSeen))
			binary.BigEndian.PutUint64(v[8:], seen[i].Counter)
			if err := batch.Set(activationKey(pfxSeen, seen[i].License, seen[i].Install), v[:], nil); err != nil {
				return fmt.Errorf("store: batch: %w", err)
			}
		}
		return nil
	})
}
