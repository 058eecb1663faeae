package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tollgate/tollgate/store"
)

// migrations are the schema's steps: migrations/NNNN_what.sql brings the
// schema from version NNNN-1 to NNNN. Part of the database format: a step
// once released is never changed, only followed.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// step is one migration.
type step struct {
	version int
	name    string
	sql     string
}

// steps are the migrations in order, read once.
var steps = mustSteps()

func mustSteps() []step {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		panic(err) // a malformed pattern: a programming error
	}
	var out []step
	for i, name := range names {
		base := path.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil || v != i+1 {
			panic(fmt.Sprintf("pgstore: migration %s is not number %d", base, i+1))
		}
		sql, err := migrationFiles.ReadFile(name)
		if err != nil {
			panic(err)
		}
		out = append(out, step{version: v, name: base, sql: string(sql)})
	}
	return out
}

// latest is the schema version this gateway writes and reads.
func latest() int { return len(steps) }

// schemaTable holds the schema's version, in its one row.
const schemaTable = `CREATE TABLE IF NOT EXISTS tollgate_schema (
	id bigint PRIMARY KEY CHECK (id = 1),
	version bigint NOT NULL
)`

// querier is what reads the schema version: a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// schemaVersion returns the database's schema version: 0 when it has none
// yet.
func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int64
	err := q.QueryRow(ctx, `SELECT version FROM tollgate_schema WHERE id = 1`).Scan(&v)
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "42P01": // undefined_table
		return 0, nil
	case errors.Is(err, pgx.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, err
	}
	return int(v), nil
}

// refuseVersion returns the refusal of a database whose schema is at
// version v when this gateway needs latest(), or nil when it is that.
func refuseVersion(v int, addr string) error {
	switch {
	case v > latest():
		return fmt.Errorf("%w: the schema of PostgreSQL at %s is version %d, newer than the %d this gateway knows: upgrade the gateway", store.ErrConfig, addr, v, latest())
	case v < latest():
		return fmt.Errorf("%w: the schema of PostgreSQL at %s is version %d, older than the %d this gateway needs: run 'tollgate migrate' (or start with migration enabled)", store.ErrConfig, addr, v, latest())
	}
	return nil
}

// migrateTimeout is the bound of a whole migration: a step may create
// indexes on tables already large.
func migrateTimeout(op time.Duration) time.Duration { return max(op*20, 5*time.Minute) }

// migrate brings the schema to latest(), one step per serializable
// transaction that reads the version again (under the version row's lock),
// so that gateways starting at once each apply a step at most once. A
// schema newer than latest() is refused. It returns the versions before
// and after.
func (b *Backend) migrate(ctx context.Context) (from, to int, err error) {
	from = -1
	// The version table, on its own: two gateways creating it at once may
	// collide on PostgreSQL's catalogue, which the retry settles.
	err = b.serializable(ctx, "create the schema table", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, schemaTable); err != nil {
			var pe *pgconn.PgError
			// The loser of the collision sees the table (42P07,
			// duplicate_table), its row type (42710, duplicate_object)
			// or the catalogue's unique index (23505) already there.
			if isUnique(err) || errors.As(err, &pe) && (pe.Code == "42P07" || pe.Code == "42710") {
				return errRace
			}
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO tollgate_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	for {
		var v int
		done := false
		err := b.serializable(ctx, "migrate the schema", func(tx pgx.Tx) error {
			var v64 int64
			if err := tx.QueryRow(ctx, `SELECT version FROM tollgate_schema WHERE id = 1 FOR UPDATE`).Scan(&v64); err != nil {
				return err
			}
			v = int(v64)
			if v >= latest() {
				done = true
				return nil
			}
			s := steps[v]
			if _, err := tx.Exec(ctx, s.sql); err != nil {
				return fmt.Errorf("store: migration %s: %w", s.name, err)
			}
			_, err := tx.Exec(ctx, `UPDATE tollgate_schema SET version = $1 WHERE id = 1`, s.version)
			return err
		})
		if err != nil {
			return 0, 0, err
		}
		if from < 0 {
			from = v
		}
		if done {
			if v > latest() {
				return from, v, refuseVersion(v, b.addr)
			}
			return from, v, nil
		}
	}
}

// Status returns the schema version of the database at url (0: no schema)
// and the version this gateway needs, for 'tollgate migrate'. It changes
// nothing.
func Status(ctx context.Context, url string) (current, latestVersion int, err error) {
	b, err := connect(ctx, url)
	if err != nil {
		return 0, latest(), err
	}
	defer b.pool.Close()
	v, err := schemaVersion(ctx, b.pool)
	if err != nil {
		return 0, latest(), b.fail("read the schema version", err)
	}
	return v, latest(), nil
}

// Migrate brings the schema of the database at url to the version this
// gateway needs, safely while other gateways start, and returns the
// versions before and after. A schema newer than this gateway knows is
// refused (store.ErrConfig) and left alone.
func Migrate(ctx context.Context, url string) (from, to int, err error) {
	b, err := connect(ctx, url)
	if err != nil {
		return 0, 0, err
	}
	defer b.pool.Close()
	return b.migrate(ctx)
}

// connect opens a small pool on url for Status and Migrate, bounded by
// ctx, as Open reports its failures.
func connect(ctx context.Context, url string) (*Backend, error) {
	pc, err := parseConfig(url)
	if err != nil {
		return nil, err
	}
	pc.MaxConns = 2
	b := &Backend{cfg: Config{Timeout: DefaultTimeout}, addr: describe(pc.ConnConfig), conn: pc.ConnConfig}
	if d, ok := ctx.Deadline(); ok {
		b.cfg.Timeout = time.Until(d).Round(time.Second)
	}
	if b.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return nil, b.fail("connect", err)
	}
	if err := b.pool.Ping(ctx); err != nil {
		b.pool.Close()
		return nil, b.fail("connect", err)
	}
	return b, nil
}
