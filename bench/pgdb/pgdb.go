// Package pgdb gives tollgate-bench and tollgate-crash a PostgreSQL
// database of their own for one run: a new, empty database on the server
// they are given, dropped at the end. A run on a database that held state
// before would measure, or check, that state too.
//
// Connection strings may hold a password: nothing here prints one, and
// errors name the server by host, port and user only.
package pgdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrServer reports that the server could not be reached or refused to
// create or drop the database.
var ErrServer = errors.New("pgdb: PostgreSQL server")

// setupTimeout bounds creating and dropping a database: far above what
// either takes on a loaded machine; only a hung server reaches it.
const setupTimeout = 2 * time.Minute

// DB is a database made for one run.
type DB struct {
	// Name is the database's name: the prefix given and 16 random hex
	// digits.
	Name string
	// URL is the connection string of the database: the server's, with
	// its database replaced. It holds the server's password, if any.
	URL string

	cfg *pgx.ConnConfig
}

// Create makes a new, empty database on the server that the postgres://
// URL server names (a role with CREATEDB), named prefix and 16 random hex
// digits.
func Create(ctx context.Context, server, prefix string) (*DB, error) {
	if !strings.HasPrefix(server, "postgres://") && !strings.HasPrefix(server, "postgresql://") {
		return nil, fmt.Errorf("%w: the connection string is not a postgres:// URL (as in postgres://USER:PASSWORD@HOST:5432/postgres)", ErrServer)
	}
	cfg, err := pgx.ParseConfig(server)
	if err != nil {
		return nil, fmt.Errorf("%w: the connection string does not parse", ErrServer)
	}
	var r [8]byte
	rand.Read(r[:])
	db := &DB{Name: prefix + hex.EncodeToString(r[:]), cfg: cfg}
	if err := db.exec(ctx, "CREATE DATABASE "+pgx.Identifier{db.Name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("%w: create database %s: %w", ErrServer, db.Name, err)
	}
	u, err := url.Parse(server)
	if err != nil {
		db.Drop(ctx)
		return nil, fmt.Errorf("%w: the connection string does not parse as a URL", ErrServer)
	}
	u.Path, u.RawPath = "/"+db.Name, ""
	db.URL = u.String()
	return db, nil
}

// dropTries bounds the attempts to drop a database: an autovacuum worker
// on it (after a run that wrote much) makes DROP ... WITH (FORCE) fail for
// a role that may not signal it, until the worker is done.
const dropTries = 10

// Drop drops the database, closing the sessions still on it. A refusal is
// tried again, a second apart, up to dropTries times.
func (db *DB) Drop(ctx context.Context) error {
	var err error
	for try := 1; try <= dropTries; try++ {
		if err = db.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db.Name}.Sanitize()+" WITH (FORCE)"); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: drop database %s: %w", ErrServer, db.Name, err)
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("%w: drop database %s (%d tries): %w", ErrServer, db.Name, dropTries, err)
}

// Where names the database for messages: host, port, user and name,
// never the password.
func (db *DB) Where() string {
	return fmt.Sprintf("database %s on %s:%d (user %s)", db.Name, db.cfg.Host, db.cfg.Port, db.cfg.User)
}

// exec runs one statement on the server's own database.
func (db *DB) exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, db.cfg)
	if err != nil {
		return fmt.Errorf("connect to %s:%d as %s: %w", db.cfg.Host, db.cfg.Port, db.cfg.User, redacted(err, db.cfg.Password))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql); err != nil {
		return redacted(err, db.cfg.Password)
	}
	return nil
}

// redacted returns err with the password, if it appears, replaced. The
// result keeps err's chain only when there was nothing to replace.
func redacted(err error, pw string) error {
	if pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
}
