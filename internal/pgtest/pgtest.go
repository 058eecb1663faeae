// Package pgtest gives tests a PostgreSQL database of their own: a new,
// empty database on the server that TOLLGATE_TEST_POSTGRES names, dropped
// when the test ends. Without that variable the tests that need one skip
// (and fail under CI=true, where they must run).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the connection string of the test server: a role that may
// create databases (CREATEDB), such as
// postgres://user:pass@127.0.0.1:5432/postgres?sslmode=disable.
const EnvVar = "TOLLGATE_TEST_POSTGRES"

// setupTimeout bounds creating and dropping a test database: far above
// what either takes, even on a loaded machine; only a hung server reaches
// it.
const setupTimeout = 2 * time.Minute

// Server returns the connection string of the test server, or skips the
// test (fails it when the environment says CI=true) when EnvVar is unset.
func Server(t testing.TB) string {
	t.Helper()
	s := os.Getenv(EnvVar)
	if s != "" {
		return s
	}
	const how = EnvVar + " is not set: to run the PostgreSQL tests, set it to a role with CREATEDB, e.g. " +
		EnvVar + "=postgres://user:pass@127.0.0.1:5432/postgres?sslmode=disable (see .ci/run)"
	if os.Getenv("CI") == "true" {
		t.Fatal(how)
	}
	t.Skip(how)
	return ""
}

// URL returns the connection string of a new, empty database made for
// this test (tollgate_test_ and 16 random hex digits), dropped, with any
// session still on it, when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	server := Server(t)
	cfg, err := pgx.ParseConfig(server)
	if err != nil {
		t.Fatalf("pgtest: %s does not parse as a connection string", EnvVar)
	}
	var r [8]byte
	rand.Read(r[:])
	name := "tollgate_test_" + hex.EncodeToString(r[:])
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgtest: connect to the test server (%s:%d, user %s): %v", cfg.Host, cfg.Port, cfg.User, redacted(err, cfg.Password))
	}
	defer conn.Close(ctx)
	// The name is ours (letters, digits, _): no quoting needed, but quoted
	// all the same.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, redacted(err, cfg.Password))
	}
	t.Cleanup(func() { drop(t, cfg, name) })
	return withDatabase(server, name)
}

// drop removes the test database, closing the sessions still on it.
func drop(t testing.TB, cfg *pgx.ConnConfig, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Errorf("pgtest: connect to drop database %s: %v", name, redacted(err, cfg.Password))
		return
	}
	defer conn.Close(ctx)
	// FORCE ends the sessions still on it, but a server process the test
	// role may not signal (an autovacuum worker) can hold it for a moment:
	// try again a few times before calling the test failed.
	drop := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"
	for try := 1; ; try++ {
		_, err := conn.Exec(ctx, drop)
		if err == nil {
			return
		}
		if try == 10 || ctx.Err() != nil {
			t.Errorf("pgtest: drop database %s: %v", name, redacted(err, cfg.Password))
			return
		}
		time.Sleep(time.Duration(try) * 100 * time.Millisecond)
	}
}

// withDatabase returns the connection string server with its database
// replaced by name: the URL's path, or a dbname pair appended (the last
// of a key's pairs wins).
func withDatabase(server, name string) string {
	if u, err := url.Parse(server); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		u.RawPath = ""
		return u.String()
	}
	return strings.TrimSpace(server) + " dbname=" + name
}

// redacted returns err's text without the password.
func redacted(err error, pw string) string {
	if pw == "" {
		return err.Error()
	}
	return strings.ReplaceAll(err.Error(), pw, "xxxxx")
}
