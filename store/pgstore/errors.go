package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tollgate/tollgate/store"
)

// SQLSTATE codes the backend tells apart.
const (
	codeSerialization = "40001" // serialization_failure: run again
	codeDeadlock      = "40P01" // deadlock_detected: run again
	codeUnique        = "23505" // unique_violation
	codeBadPassword   = "28P01" // invalid_password
	codeBadAuth       = "28000" // invalid_authorization_specification
	codeNoDatabase    = "3D000" // invalid_catalog_name
)

// parseConfig reads a connection string. Its error names no part of it:
// pgx's message may quote it, password included.
func parseConfig(url string) (*pgxpool.Config, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%w: the PostgreSQL connection string does not parse; check its form (postgres://user:password@host:port/database?sslmode=...)", store.ErrConfig)
	}
	return pc, nil
}

// describe names the server of a connection configuration for messages:
// host:port, the database and the user, never the password.
func describe(c *pgx.ConnConfig) string {
	return fmt.Sprintf("%s, user %q)", strings.TrimSuffix(hostAndDatabase(c), ")"), c.User)
}

// hostAndDatabase names host:port (a socket directory and port) and the
// database of a connection configuration.
func hostAndDatabase(c *pgx.ConnConfig) string {
	host := c.Host
	if strings.HasPrefix(host, "/") {
		host += " port " + strconv.Itoa(int(c.Port))
	} else {
		host = net.JoinHostPort(host, strconv.Itoa(int(c.Port)))
	}
	return fmt.Sprintf("%s (database %q)", host, c.Database)
}

// redact removes the password from a message, should a driver's text
// ever quote it.
func redact(msg, pw string) string {
	if len(pw) < 3 {
		// Replacing a character or two would garble the message; the
		// driver quotes no password anyway: this is a last guard.
		return msg
	}
	return strings.ReplaceAll(msg, pw, "xxxxx")
}

// fail turns an error of an operation (op, for the message) into the
// store's terms: unreachable or too slow is store.ErrUnavailable, a
// refused login or missing database store.ErrConfig, a closed backend
// store.ErrClosed; other database errors are wrapped with op; the store's
// own errors and the caller's (an Update's function's) pass unchanged.
func (b *Backend) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if b.isClosed(err) {
		return store.ErrClosed
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == codeBadPassword || pe.Code == codeBadAuth:
			return fmt.Errorf("%w: PostgreSQL refused the login of user %q at %s: check the password of the connection string (and the server's pg_hba.conf)", store.ErrConfig, b.conn.User, hostAndDatabase(b.conn))
		case pe.Code == codeNoDatabase:
			return fmt.Errorf("%w: PostgreSQL at %s has no such database: create it, or fix the connection string", store.ErrConfig, b.addr)
		case strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "53") || strings.HasPrefix(pe.Code, "57P"):
			// Connection exceptions, insufficient resources (too many
			// connections), the server shutting down or starting.
			return fmt.Errorf("%w: PostgreSQL at %s: %s: %s", store.ErrUnavailable, b.addr, op, redact(pe.Message, b.conn.Password))
		}
		return fmt.Errorf("store: PostgreSQL at %s: %s: %w", b.addr, op, err)
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return fmt.Errorf("%w: PostgreSQL at %s did not answer within %v (%s); try again later", store.ErrUnavailable, b.addr, b.cfg.Timeout, op)
	}
	if unreachable(err) {
		return fmt.Errorf("%w: cannot reach PostgreSQL at %s (%s): %s; check that it runs and listens there", store.ErrUnavailable, b.addr, op, redact(rootCause(err), b.conn.Password))
	}
	return err
}

// unreachable reports whether err says the server could not be reached,
// or went away: a failed connection, a network error, a connection closed
// under the query.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed")
}

// rootCause returns the text of the innermost error of err's chain: what
// went wrong, without the driver's prefixes (which quote the user and the
// database, named by the backend's own message).
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// retryable reports whether a transaction that failed with err may be run
// again from the start: a serialization failure or a deadlock, or a
// connection that broke before anything was sent.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == codeSerialization || pe.Code == codeDeadlock
	}
	return pgconn.SafeToRetry(err)
}

// isUnique reports whether err is a unique violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == codeUnique
}
