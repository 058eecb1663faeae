package store

// Stats is what the store holds and owes, for the operator.
type Stats struct {
	DiskBytes      uint64 // Pebble's files on disk
	MemtableBytes  uint64
	L0Sublevels    int32 // past 8 Pebble compacts; past 20 writes slow down
	L0Tables       int64
	CompactionDebt uint64 // bytes Pebble estimates it must still compact
	WriteBehind    int    // activations whose last-seen time is not yet written
}

// Stats returns the store's figures now.
func (s *Store) Stats() Stats {
	if s.closed.Load() {
		return Stats{}
	}
	m := s.db.Metrics()
	s.dirtyMu.Lock()
	wb := len(s.dirty)
	s.dirtyMu.Unlock()
	return Stats{DiskBytes: m.DiskSpaceUsage(), MemtableBytes: m.MemTable.Size, L0Sublevels: m.Levels[0].Sublevels,
		L0Tables: m.Levels[0].TablesCount, CompactionDebt: m.Compact.EstimatedDebt, WriteBehind: wb}
}
