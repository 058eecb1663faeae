package pebblestore

import "github.com/tollgate/tollgate/store"

// Stats returns the size of Pebble's files on disk and, as extras, the
// figures that tell an operator whether Pebble keeps up: memtables, level
// 0 (Pebble compacts it as it deepens; at 12 sublevels, its default
// L0StopWritesThreshold, writes stop until it is compacted) and the
// compaction debt.
func (b *Backend) Stats() store.Stats {
	if b.closed.Load() {
		return store.Stats{}
	}
	m := b.db.Metrics()
	return store.Stats{Bytes: m.DiskSpaceUsage(), Extra: []store.Stat{
		{Name: "store_memtable_bytes", Help: "Bytes in the store's memtables.", Value: int64(m.MemTable.Size)},
		{Name: "store_l0_sublevels", Help: "Sublevels of the store's level 0 (writes stop at 12 until it is compacted).", Value: int64(m.Levels[0].Sublevels)},
		{Name: "store_l0_tables", Help: "Tables in the store's level 0.", Value: m.Levels[0].TablesCount},
		{Name: "store_compaction_debt_bytes", Help: "Bytes the store estimates it must still compact.", Value: int64(m.Compact.EstimatedDebt)},
	}}
}
