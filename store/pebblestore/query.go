package pebblestore

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
)

// Licenses returns one page of the licenses q selects, in the order of
// their key hashes; the cursor is the hex key hash of a page's last
// license.
//
// Its cost: a scan of every license record from the cursor on (the page's
// licenses and every one that fails the filters), decoding each, plus,
// with q.Flagged, one scan of the sightings records; Pebble has no index
// by shop, product, state or expiry. A gateway of a million licenses
// reads some hundred MB for a selective query: an operator's query, never
// the hot path. With q.IDPrefix only the licenses whose key hash or id
// index entry begins with it are read.
func (b *Backend) Licenses(q store.LicenseQuery) ([]store.License, string, error) {
	if b.closed.Load() {
		return nil, "", store.ErrClosed
	}
	var after []byte
	if q.After != "" {
		h, err := hex.DecodeString(q.After)
		if err != nil || len(h) != len(keygen.KeyHash{}) {
			return nil, "", fmt.Errorf("%w: %q is not a cursor of this store's license list", store.ErrInvalid, q.After)
		}
		after = h
	}
	if len(q.IDPrefix) > len(store.LicenseID{}) {
		return nil, "", fmt.Errorf("%w: a license id prefix of %d bytes", store.ErrInvalid, len(q.IDPrefix))
	}
	var flagged map[store.LicenseID]bool
	if q.Flagged {
		var err error
		if flagged, err = b.flaggedIDs(); err != nil {
			return nil, "", err
		}
	}
	p := page{q: &q, flagged: flagged}
	var err error
	if len(q.IDPrefix) > 0 {
		err = b.licensesByIDPrefix(q.IDPrefix, after, p.add)
	} else {
		lower := []byte{pfxLicense}
		if after != nil {
			lower = append(licenseKey(keygen.KeyHash(after)), 0)
		}
		err = b.scanLicenses(lower, []byte{pfxLicense + 1}, p.add)
	}
	if err != nil {
		return nil, "", err
	}
	return p.out, p.next, nil
}

// page gathers one page of a license list.
type page struct {
	q       *store.LicenseQuery
	flagged map[store.LicenseID]bool
	out     []store.License
	last    keygen.KeyHash
	next    string
}

// add takes the next license (of key hash h) in order, and reports
// whether the page wants more.
func (p *page) add(h keygen.KeyHash, l *store.License) bool {
	if !p.q.Match(l, p.flagged[l.ID]) {
		return true
	}
	if p.q.Limit > 0 && len(p.out) == p.q.Limit {
		// One more selected: this page is not the last.
		p.next = hex.EncodeToString(p.last[:])
		return false
	}
	p.out = append(p.out, *l)
	p.last = h
	return true
}

// scanLicenses calls add with each license record in [lower, upper), in
// order, until it returns false.
func (b *Backend) scanLicenses(lower, upper []byte, add func(keygen.KeyHash, *store.License) bool) error {
	return b.scanLicenseRecords(lower, upper, func(h keygen.KeyHash, l *store.License, _ int) bool { return add(h, l) })
}

// scanLicenseRecords calls add with each license record in [lower, upper),
// in order, with the number of activations it keeps (as licenseAt), until
// add returns false.
func (b *Backend) scanLicenseRecords(lower, upper []byte, add func(keygen.KeyHash, *store.License, int) bool) error {
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("store: read: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 1+len(keygen.KeyHash{}) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("store: read: %w", err)
		}
		l, acts, err := decodeLicenseActs(v)
		if err != nil {
			return err
		}
		if !add(keygen.KeyHash(k[1:]), &l, acts) {
			break
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("store: read: %w", err)
	}
	return nil
}

// licensesByIDPrefix calls add, in key hash order from after on, with the
// licenses whose id may begin with prefix: those whose key hash does
// (derived ids, store.IDFor) and those an index entry of an older random
// id names.
func (b *Backend) licensesByIDPrefix(prefix, after []byte, add func(keygen.KeyHash, *store.License) bool) error {
	type found struct {
		h keygen.KeyHash
		l store.License
	}
	var all []found
	lower := append([]byte{pfxLicense}, prefix...)
	err := b.scanLicenses(lower, prefixEnd(lower), func(h keygen.KeyHash, l *store.License) bool {
		all = append(all, found{h, *l})
		return true
	})
	if err != nil {
		return err
	}
	lower = append([]byte{pfxLicenseID}, prefix...)
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return fmt.Errorf("store: read: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("store: read: %w", err)
		}
		if len(v) != len(keygen.KeyHash{}) {
			return fmt.Errorf("%w: an index entry of license %x", store.ErrCorrupt, it.Key()[1:min(5, len(it.Key()))])
		}
		h := keygen.KeyHash(v)
		l, _, err := b.licenseAt(h)
		if err != nil {
			return err
		}
		all = append(all, found{h, l})
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("store: read: %w", err)
	}
	slices.SortFunc(all, func(x, y found) int { return bytes.Compare(x.h[:], y.h[:]) })
	all = slices.CompactFunc(all, func(x, y found) bool { return x.h == y.h })
	for i := range all {
		if after != nil && bytes.Compare(all[i].h[:], after) <= 0 {
			continue
		}
		if !add(all[i].h, &all[i].l) {
			break
		}
	}
	return nil
}

// flaggedIDs returns the ids of the flagged licenses, and of those whose
// sightings record is damaged (FlaggedLicenses lists them too).
func (b *Backend) flaggedIDs() (map[store.LicenseID]bool, error) {
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pfxSightings}, UpperBound: []byte{pfxSightings + 1}})
	if err != nil {
		return nil, fmt.Errorf("store: read: %w", err)
	}
	defer it.Close()
	ids := map[store.LicenseID]bool{}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 1+len(store.LicenseID{}) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("store: read: %w", err)
		}
		if sg, err := parseSightings(v); err != nil || sg.FlaggedAt != 0 {
			ids[store.LicenseID(k[1:])] = true
		}
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("store: read: %w", err)
	}
	return ids, nil
}

// Snapshot writes a Pebble checkpoint of the store into dir, which must
// not exist yet (store.Snapshotter): the WAL flushed and synced first, so
// that every write that returned before the call is in it. Its sstables
// are hard links where dir is on the same file system (no copy; they keep
// disk space until dir is removed), copies elsewhere.
func (b *Backend) Snapshot(dir string) error {
	if b.closed.Load() {
		return store.ErrClosed
	}
	if err := b.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("store: checkpoint into %s: %w", dir, err)
	}
	return nil
}

var _ store.Snapshotter = (*Backend)(nil)
