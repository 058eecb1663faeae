// Package pgstore is the backend of package store that several gateways
// share: one PostgreSQL database, reached through a pgx connection pool.
//
// Contracts (beyond store.Backend's):
//   - Every write is one SERIALIZABLE transaction, committed (and, with
//     PostgreSQL's synchronous_commit on, flushed to its write-ahead log)
//     before the method returns. A transaction that fails to serialise
//     (SQLSTATE 40001) or is chosen as a deadlock's victim (40P01) is
//     rolled back and run again from the start, reading afresh: Update
//     calls its function again on a new store.Tx, MintOrder may call mint
//     again (what an aborted attempt minted is never written).
//   - Updates of one license lock its row (SELECT ... FOR UPDATE), so seat
//     accounting is exact across every gateway of the database; orders are
//     placed under the row of their shop's mint quota, and are idempotent
//     by (shop, order id) whichever gateway places them.
//   - The audit log is one hash chain whichever gateway wrote each entry:
//     each appending transaction locks the chain's head row.
//   - The SQL is plain enough for PostgreSQL-compatible distributed
//     databases (CockroachDB, YugabyteDB): no advisory locks, no server-side
//     functions, only bytea, bigint, text and boolean columns. Only the
//     change notifications (Watch: LISTEN and pg_notify) are PostgreSQL's
//     own.
//   - A database that cannot be reached or does not answer within
//     Config.Timeout is an error wrapping store.ErrUnavailable; a refused
//     login or a schema this gateway cannot use wraps store.ErrConfig. No
//     error or log line carries the password or the connection string:
//     they name the server as host:port, the database and the user.
//   - The schema is versioned (tollgate_schema) and migrated by Migrate, or
//     by Open with Config.Migrate.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tollgate/tollgate/store"
)

// Config configures a Backend.
type Config struct {
	// URL is the connection string of the database (a postgres:// URL or
	// key=value pairs, as libpq reads them). Required.
	URL string
	// Now is the clock (new records, audit entries, the quota's day). Nil
	// means time.Now.
	Now func() time.Time
	// Logger receives the backend's warnings (lost change notifications).
	// Nil means slog.Default().
	Logger *slog.Logger
	// Timeout bounds each operation, its retries included: past it the
	// operation fails with store.ErrUnavailable. Zero means 5 seconds.
	Timeout time.Duration
	// MaxConns bounds the pool's connections (Watch holds one more). Zero
	// means pgx's default (the greater of 4 and the number of CPUs).
	MaxConns int32
	// Migrate creates the schema, or brings it to this gateway's version,
	// before Open returns. Without it, a database whose schema is older
	// than this gateway's (or absent) is refused.
	Migrate bool
}

// DefaultTimeout is the bound of one operation when Config.Timeout is
// zero.
const DefaultTimeout = 5 * time.Second

// Backend is the store's state in a PostgreSQL database. All methods are
// safe for concurrent use.
type Backend struct {
	cfg  Config
	pool *pgxpool.Pool
	addr string          // the server, for messages: host:port, database, user
	conn *pgx.ConnConfig // the connections' configuration (the listener's too)

	closed    atomic.Bool
	closeOnce sync.Once
	retries   atomic.Int64 // transactions run again (Stats)

	watch watcher // the change listener (watch.go)
}

var (
	_ store.Backend = (*Backend)(nil)
	_ store.Watcher = (*Backend)(nil)
)

// Open connects to the database of cfg.URL and checks (with cfg.Migrate,
// brings) its schema's version. A server that cannot be reached is an
// error wrapping store.ErrUnavailable naming the address tried; a refused
// login, a malformed URL or an unusable schema wraps store.ErrConfig.
func Open(cfg Config) (*Backend, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("%w: no PostgreSQL connection string", store.ErrConfig)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: negative PostgreSQL timeout %v", store.ErrConfig, cfg.Timeout)
	}
	if cfg.MaxConns < 0 {
		return nil, fmt.Errorf("%w: negative PostgreSQL pool size %d", store.ErrConfig, cfg.MaxConns)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	pc, err := parseConfig(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	if pc.ConnConfig.ConnectTimeout == 0 || pc.ConnConfig.ConnectTimeout > cfg.Timeout {
		pc.ConnConfig.ConnectTimeout = cfg.Timeout
	}
	b := &Backend{cfg: cfg, addr: describe(pc.ConnConfig), conn: pc.ConnConfig}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	if b.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return nil, b.fail("connect", err)
	}
	if err := b.pool.Ping(ctx); err != nil {
		b.pool.Close()
		return nil, b.fail("connect", err)
	}
	if err := b.checkSchema(cfg.Migrate); err != nil {
		b.pool.Close()
		return nil, err
	}
	return b, nil
}

// checkSchema migrates the schema (migrate) or checks that it is this
// gateway's version.
func (b *Backend) checkSchema(migrate bool) error {
	if migrate {
		ctx, cancel := context.WithTimeout(context.Background(), migrateTimeout(b.cfg.Timeout))
		defer cancel()
		_, _, err := b.migrate(ctx)
		return err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	v, err := schemaVersion(ctx, b.pool)
	if err != nil {
		return b.fail("read the schema version", err)
	}
	return refuseVersion(v, b.addr)
}

// Close stops the change listener, waits for it, and closes the pool
// (waiting for the operations under way). It is safe to call more than
// once; after it every method returns store.ErrClosed.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		b.watch.stop()
		b.pool.Close()
	})
	return nil
}

// ctx returns the context of one operation: bounded by Config.Timeout.
func (b *Backend) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), b.cfg.Timeout)
}

// errIfClosed returns store.ErrClosed once Close was called.
func (b *Backend) errIfClosed() error {
	if b.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

// isClosed reports whether err is the refusal of a closed backend or pool.
func (b *Backend) isClosed(err error) bool {
	return errors.Is(err, store.ErrClosed) || (b.closed.Load() && err != nil)
}
