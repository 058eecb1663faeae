package pgstore

import "github.com/tollgate/tollgate/store"

// Stats returns the database's size (pg_database_size: 0 when it cannot be
// read in time) and, as extras, the pool's figures and the transactions
// run again.
func (b *Backend) Stats() store.Stats {
	if b.closed.Load() {
		return store.Stats{}
	}
	var st store.Stats
	ctx, cancel := b.ctx()
	defer cancel()
	var size int64
	if err := b.pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&size); err == nil && size > 0 {
		st.Bytes = uint64(size)
	}
	p := b.pool.Stat()
	st.Extra = []store.Stat{
		{Name: "store_pg_conns", Help: "Connections of the PostgreSQL pool, idle or in use.", Value: int64(p.TotalConns())},
		{Name: "store_pg_conns_in_use", Help: "Connections of the PostgreSQL pool in use.", Value: int64(p.AcquiredConns())},
		{Name: "store_pg_conns_max", Help: "Most connections the PostgreSQL pool opens.", Value: int64(p.MaxConns())},
		{Name: "store_pg_acquire_waits_total", Help: "Operations that waited for a PostgreSQL connection, every one in use.", Value: p.EmptyAcquireCount()},
		{Name: "store_pg_acquire_wait_seconds_total", Help: "Seconds operations spent waiting for a PostgreSQL connection.", Value: int64(p.AcquireDuration().Seconds())},
		{Name: "store_pg_retries_total", Help: "PostgreSQL transactions run again after a serialization failure or deadlock.", Value: b.retries.Load()},
	}
	return st
}
