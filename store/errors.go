package store

import "errors"

var (
	ErrNotFound     = errors.New("store: not found")
	ErrNotActivated = errors.New("store: not activated on this install")
	ErrExists       = errors.New("store: already exists")
	ErrLocked       = errors.New("store: data directory is in use by another process (is the gateway running?)")
	ErrClosed       = errors.New("store: closed")
	ErrCorrupt      = errors.New("store: corrupt record")
	ErrConfig       = errors.New("store: invalid configuration")
	// ErrUnavailable: a shared backend (a database) cannot be reached or
	// did not answer in time. Nothing was written; the caller may retry
	// later, and the gateway answers "try later" (StatusServerError).
	ErrUnavailable = errors.New("store: database unavailable")
)

// Errors of shops, orders and the audit log.
var (
	ErrInvalid       = errors.New("store: invalid record")
	ErrOrderConflict = errors.New("store: order id already used with a different request")
	ErrQuotaExceeded = errors.New("store: daily key quota exceeded")
	ErrAuditBroken   = errors.New("store: audit log chain is broken")
)
