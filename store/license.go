package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/keygen"
)

// CreateLicenses writes new licenses durably in one batch (one fsync). A key
// hash or license id that already exists is refused with ErrExists and
// nothing is written.
func (s *Store) CreateLicenses(ls []License) error { return s.createLicenses(ls, nil) }

// CreateLicensesAudited is CreateLicenses with the audit entry e written in
// the same commit.
func (s *Store) CreateLicensesAudited(ls []License, e AuditEntry) error {
	return s.createLicenses(ls, &e)
}

func (s *Store) createLicenses(ls []License, audit *AuditEntry) error {
	if len(ls) == 0 {
		return nil
	}
	fill := func(b *pebble.Batch) error {
		for i := range ls {
			l := &ls[i]
			if v, err := s.get(licenseKey(l.KeyHash)); err != nil {
				return err
			} else if v != nil {
				return fmt.Errorf("%w: license %s", ErrExists, l.KeyHash)
			}
			if _, _, _, err := s.licenseByID(l.ID); err == nil {
				return fmt.Errorf("%w: license id %x", ErrExists, l.ID[:4])
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		return putLicenses(b, ls)
	}
	if audit != nil {
		return s.commitAudited(*audit, fill)
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := fill(b); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// putLicenses puts new licenses in b: their records, in the order of their
// key hashes, then their id index entries, in the order of their ids.
// Pebble inserts a batch into its memtable (a skiplist) in the batch's
// order, and an insert next to the previous one starts from where that one
// ended instead of from the top: in key order, a 10,000-key mint spends
// far less of its time in the memtable (BENCHMARKS.md, mint).
func putLicenses(b *pebble.Batch, ls []License) error {
	// Ids and key hashes are random: sorting by their first 8 bytes is
	// sorting them (a tie would only cost a longer insert).
	type ref struct {
		first uint64
		i     int
	}
	order := make([]ref, len(ls))
	byFirst := func(x, y ref) int { return cmp.Compare(x.first, y.first) }
	for i := range ls {
		order[i] = ref{binary.BigEndian.Uint64(ls[i].ID[:8]), i}
	}
	slices.SortFunc(order, byFirst)
	for _, r := range order {
		if ls[r.i].ID == IDFor(ls[r.i].KeyHash) {
			continue // found by its record's key: no index entry
		}
		if err := b.Set(licenseIDKey(ls[r.i].ID), ls[r.i].KeyHash[:], nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
	}
	for i := range ls {
		order[i] = ref{binary.BigEndian.Uint64(ls[i].KeyHash[:8]), i}
	}
	slices.SortFunc(order, byFirst)
	rec := make([]byte, 0, 256)
	for _, r := range order {
		var err error
		if rec, err = appendLicenseV2(rec[:0], &ls[r.i], 0); err != nil {
			return err
		}
		if err := b.Set(licenseKey(ls[r.i].KeyHash), rec, nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
	}
	return nil
}

// LicenseByKeyHash returns the license whose key has hash h, or ErrNotFound.
func (s *Store) LicenseByKeyHash(h keygen.KeyHash) (License, error) {
	l, _, err := s.licenseAt(h)
	return l, err
}

// licenseAt reads the license whose key has hash h, with the number of
// activations its record keeps (unknownActs for an old record).
func (s *Store) licenseAt(h keygen.KeyHash) (License, int, error) {
	v, err := s.get(licenseKey(h))
	if err != nil {
		return License{}, 0, err
	}
	if v == nil {
		return License{}, 0, ErrNotFound
	}
	return decodeLicenseActs(v)
}

// IDFor returns the id a new license with key hash h gets: the first 16
// bytes of h. The record's own key (pfxLicense | h) then finds the license
// by its id as well, so a mint writes one record per key and no index entry
// (half the gateway's CPU per minted key, BENCHMARKS.md). The id says
// nothing of the key: h is a hash keyed with the server's secret. Licenses
// minted before ids were derived keep their random ids and their index
// entries (pfxLicenseID).
func IDFor(h keygen.KeyHash) LicenseID { return LicenseID(h[:16]) }

// LicenseByID returns the license with this id, or ErrNotFound.
func (s *Store) LicenseByID(id LicenseID) (License, error) {
	l, _, _, err := s.licenseByID(id)
	return l, err
}

// licenseByID finds the license with this id: first as the record whose
// key hash begins with the id (IDFor), then through the index entry of an
// id that was not derived. It returns the license, its key hash and its
// number of activations (as licenseAt). New licenses, all derived, take
// the shorter way (BenchmarkLicenseByID on the development machine: about
// 6 µs, and 15 for an older license; the index first took about 9 and 10).
func (s *Store) licenseByID(id LicenseID) (License, keygen.KeyHash, int, error) {
	if l, h, acts, err := s.licenseByPrefix(id); err == nil || !errors.Is(err, ErrNotFound) {
		return l, h, acts, err
	}
	v, err := s.get(licenseIDKey(id))
	if err != nil {
		return License{}, keygen.KeyHash{}, 0, err
	}
	if v == nil {
		return License{}, keygen.KeyHash{}, 0, ErrNotFound
	}
	if len(v) != len(keygen.KeyHash{}) {
		return License{}, keygen.KeyHash{}, 0, fmt.Errorf("%w: index entry of license %x", ErrCorrupt, id[:4])
	}
	h := keygen.KeyHash(v)
	l, acts, err := s.licenseAt(h)
	if err == nil && l.ID != id {
		return License{}, keygen.KeyHash{}, 0, fmt.Errorf("%w: index entry of license %x names another license", ErrCorrupt, id[:4])
	}
	return l, h, acts, err
}

// licenseByPrefix reads the license whose id was derived from its key hash
// (IDFor), or ErrNotFound.
func (s *Store) licenseByPrefix(id LicenseID) (License, keygen.KeyHash, int, error) {
	lower := append([]byte{pfxLicense}, id[:]...)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return License{}, keygen.KeyHash{}, 0, fmt.Errorf("store: read: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 1+len(keygen.KeyHash{}) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return License{}, keygen.KeyHash{}, 0, fmt.Errorf("store: read: %w", err)
		}
		l, acts, err := decodeLicenseActs(v)
		if err != nil {
			return License{}, keygen.KeyHash{}, 0, err
		}
		// An older license's random id is not its key hash's first bytes,
		// whatever else begins with them.
		if l.ID == id {
			return l, keygen.KeyHash(k[1:]), acts, nil
		}
	}
	if err := it.Error(); err != nil {
		return License{}, keygen.KeyHash{}, 0, fmt.Errorf("store: read: %w", err)
	}
	return License{}, keygen.KeyHash{}, 0, ErrNotFound
}

// prefixEnd returns the smallest key above every key that begins with p.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i]++; end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}

// Activations returns the license's activations, ordered by install id.
func (s *Store) Activations(id LicenseID) ([]Activation, error) {
	lo := append([]byte{pfxActivation}, id[:]...)
	hi := append([]byte{pfxActivation}, id[:]...)
	hi = append(hi, bytes.Repeat([]byte{0xff}, len(InstallID{})+1)...)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("store: iterate: %w", err)
	}
	defer it.Close()
	var out []Activation
	for it.First(); it.Valid(); it.Next() {
		a, err := decodeActivation(it.Value())
		if err != nil {
			return nil, err
		}
		s.latestSeen(&a)
		out = append(out, a)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("store: iterate: %w", err)
	}
	return out, nil
}
