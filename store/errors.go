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
)
