package store

import (
	"errors"
	"fmt"
)

// LicenseQuery selects licenses for an operator's list (Backend.Licenses):
// every field set must hold (zero fields select everything), and the
// answer is one page of at most Limit licenses from after the cursor
// After.
type LicenseQuery struct {
	Shop    string `json:"shop,omitempty"`    // minted by this shop
	Order   string `json:"order,omitempty"`   // of this order id (of any shop, unless Shop is set too)
	Product string `json:"product,omitempty"` // of this product code (the main product, not a bundle's)
	// State, when not nil, is the license's administrative state (a
	// license past its term is still active: see ExpiringBefore).
	State *State `json:"state,omitempty"`
	// Flagged selects the licenses flagged as shared (Sightings.FlaggedAt
	// set), and those whose sightings record is damaged.
	Flagged bool `json:"flagged,omitempty"`
	// ExpiringBefore (Unix seconds), when not zero, selects the licenses
	// with an end (License.Expiry not zero) before it, ended ones included.
	ExpiringBefore int64 `json:"expiring_before,omitempty"`
	// IDPrefix selects the licenses whose id begins with these bytes (the
	// 4 bytes logs print): finding a license by a prefix of its id.
	IDPrefix []byte `json:"id_prefix,omitempty"`
	// Limit is the most licenses a page holds; 0 or less: no bound.
	Limit int `json:"limit,omitempty"`
	// After is the cursor a previous page returned as next: the page
	// starts after it. Empty: from the start.
	After string `json:"after,omitempty"`
}

// Match reports whether l, whose sightings say flagged, is selected by
// q's filters (not its page): what every backend's Licenses applies,
// whatever it can filter first.
func (q *LicenseQuery) Match(l *License, flagged bool) bool {
	switch {
	case q.Shop != "" && l.Shop != q.Shop,
		q.Order != "" && l.Order != q.Order,
		q.Product != "" && l.Product != q.Product,
		q.State != nil && l.State != *q.State,
		q.Flagged && !flagged,
		len(q.IDPrefix) > len(l.ID) || string(l.ID[:len(q.IDPrefix)]) != string(q.IDPrefix):
		return false
	case q.ExpiringBefore != 0:
		end := l.Expiry()
		return end != 0 && end < q.ExpiringBefore
	}
	return true
}

// MaxLicensePage is the most licenses one page of an operator's list
// holds when its query sets no limit through the admin socket.
const MaxLicensePage = 10000

// Licenses returns one page of the licenses q selects (Backend.Licenses).
func (s *Store) Licenses(q LicenseQuery) ([]License, string, error) { return s.b.Licenses(q) }

// Snapshotter is a Backend that can copy its whole data, consistently, into
// a new directory: a backup taken while the gateway serves. Snapshot must
// hold every write that returned before it was called, and only whole
// commits; dir must not exist yet (it is created). A backend without it (a
// database server's) is backed up with the database's own tools.
type Snapshotter interface {
	Snapshot(dir string) error
}

// ErrNoSnapshot is Store.Snapshot's error for a backend that is no
// Snapshotter.
var ErrNoSnapshot = errors.New("store: this backend takes no snapshots: back its database up with the database's own tools")

// Snapshot writes a consistent copy of the backend's data into dir (which
// must not exist yet), with the last-seen times and counters queued before
// the call written first: everything acknowledged before Snapshot was
// called is in the copy. A backend that is not a Snapshotter is
// ErrNoSnapshot.
func (s *Store) Snapshot(dir string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	sn, ok := s.b.(Snapshotter)
	if !ok {
		return ErrNoSnapshot
	}
	if err := s.Flush(); err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	return sn.Snapshot(dir)
}
