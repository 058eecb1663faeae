package pebblestore

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
)

// CreateLicenses writes new licenses durably in one batch (one fsync), with
// audit (when not nil) in the same commit. A key hash or license id that
// already exists is refused with store.ErrExists and nothing is written.
func (b *Backend) CreateLicenses(ls []store.License, audit *store.AuditEntry) error {
	if len(ls) == 0 {
		return nil
	}
	fill := func(batch *pebble.Batch) error {
		for i := range ls {
			l := &ls[i]
			if v, err := b.get(licenseKey(l.KeyHash)); err != nil {
				return err
			} else if v != nil {
				return fmt.Errorf("%w: license %s", store.ErrExists, l.KeyHash)
			}
			if _, _, _, err := b.licenseByID(l.ID); err == nil {
				return fmt.Errorf("%w: license id %x", store.ErrExists, l.ID[:4])
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		body, err := licenseKVs(ls)
		if err != nil {
			return err
		}
		defer body.release()
		return body.putIn(batch)
	}
	if audit != nil {
		return b.commitAudited(*audit, fill)
	}
	return b.commit(fill)
}

// LicenseByKeyHash returns the license whose key has hash h, or ErrNotFound.
func (b *Backend) LicenseByKeyHash(h keygen.KeyHash) (store.License, error) {
	l, _, err := b.licenseAt(h)
	return l, err
}

// licenseAt reads the license whose key has hash h, with the number of
// activations its record keeps (unknownActs for an old record).
func (b *Backend) licenseAt(h keygen.KeyHash) (store.License, int, error) {
	v, err := b.get(licenseKey(h))
	if err != nil {
		return store.License{}, 0, err
	}
	if v == nil {
		return store.License{}, 0, store.ErrNotFound
	}
	return decodeLicenseActs(v)
}

// LicenseByID returns the license with this id, or ErrNotFound.
func (b *Backend) LicenseByID(id store.LicenseID) (store.License, error) {
	l, _, _, err := b.licenseByID(id)
	return l, err
}

// licenseByID finds the license with this id: first as the record whose
// key hash begins with the id (store.IDFor), then through the index entry of an
// id that was not derived. It returns the license, its key hash and its
// number of activations (as licenseAt). New licenses, all derived, take
// the shorter way (BenchmarkLicenseByID on the development machine: about
// 6 µs, and 15 for an older license; the index first took about 9 and 10).
func (b *Backend) licenseByID(id store.LicenseID) (store.License, keygen.KeyHash, int, error) {
	if l, h, acts, err := b.licenseByPrefix(id); err == nil || !errors.Is(err, store.ErrNotFound) {
		return l, h, acts, err
	}
	v, err := b.get(licenseIDKey(id))
	if err != nil {
		return store.License{}, keygen.KeyHash{}, 0, err
	}
	if v == nil {
		return store.License{}, keygen.KeyHash{}, 0, store.ErrNotFound
	}
	if len(v) != len(keygen.KeyHash{}) {
		return store.License{}, keygen.KeyHash{}, 0, fmt.Errorf("%w: index entry of license %x", store.ErrCorrupt, id[:4])
	}
	h := keygen.KeyHash(v)
	l, acts, err := b.licenseAt(h)
	if err == nil && l.ID != id {
		return store.License{}, keygen.KeyHash{}, 0, fmt.Errorf("%w: index entry of license %x names another license", store.ErrCorrupt, id[:4])
	}
	return l, h, acts, err
}

// licenseByPrefix reads the license whose id was derived from its key hash
// (store.IDFor), or ErrNotFound.
func (b *Backend) licenseByPrefix(id store.LicenseID) (store.License, keygen.KeyHash, int, error) {
	if b.closed.Load() {
		return store.License{}, keygen.KeyHash{}, 0, store.ErrClosed
	}
	lower := append([]byte{pfxLicense}, id[:]...)
	var (
		found bool
		l     store.License
		h     keygen.KeyHash
		acts  int
	)
	err := b.scanLicenseRecords(lower, prefixEnd(lower), func(kh keygen.KeyHash, rec *store.License, n int) bool {
		// An older license's random id is not its key hash's first bytes,
		// whatever else begins with them.
		if rec.ID == id {
			found, l, h, acts = true, *rec, kh, n
		}
		return !found
	})
	switch {
	case err != nil:
		return store.License{}, keygen.KeyHash{}, 0, err
	case found:
		return l, h, acts, nil
	}
	return store.License{}, keygen.KeyHash{}, 0, store.ErrNotFound
}

// Activations returns the license's activations, ordered by install id,
// with their written-behind last-seen times and counters merged in.
func (b *Backend) Activations(id store.LicenseID) ([]store.Activation, error) {
	if b.closed.Load() {
		return nil, store.ErrClosed
	}
	lo := append([]byte{pfxActivation}, id[:]...)
	hi := append([]byte{pfxActivation}, id[:]...)
	hi = append(hi, bytes.Repeat([]byte{0xff}, len(store.InstallID{})+1)...)
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("store: iterate: %w", err)
	}
	defer it.Close()
	var out []store.Activation
	for it.First(); it.Valid(); it.Next() {
		a, err := decodeActivation(it.Value())
		if err != nil {
			return nil, err
		}
		b.mergeSeen(&a)
		out = append(out, a)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("store: iterate: %w", err)
	}
	return out, nil
}

// Activation returns the activation of install on the license id, with its
// written-behind last-seen time and counter merged in, or
// store.ErrNotActivated.
func (b *Backend) Activation(id store.LicenseID, install store.InstallID) (store.Activation, error) {
	v, err := b.get(activationKey(pfxActivation, id, install))
	if err != nil {
		return store.Activation{}, err
	}
	if v == nil {
		return store.Activation{}, store.ErrNotActivated
	}
	a, err := decodeActivation(v)
	if err != nil {
		return store.Activation{}, err
	}
	b.mergeSeen(&a)
	return a, nil
}
