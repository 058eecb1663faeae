package pebblestore

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/store"
)

// Sightings records (pfxSightings), version 2. Part of the on-disk format.

// appendSightings encodes s as a version 2 record: the flag time, the
// reason, then each sighting as its kind, its hash (8 bytes) and its last
// time, in the order of kind and hash. A record says something: a flag
// (a time and a reason) or at least one sighting; no two sightings are of
// the same kind and hash.
func appendSightings(b []byte, s *store.Sightings) ([]byte, error) {
	if len(s.Reason) > maxRecString || len(s.List) > store.MaxSightings || (s.FlaggedAt == 0) != (s.Reason == "") || s.Empty() {
		return nil, fmt.Errorf("%w: sightings record out of bounds", store.ErrInvalid)
	}
	list := slices.Clone(s.List)
	slices.SortFunc(list, cmpSighting)
	b = append(b, recordVersionV2)
	b = binary.AppendVarint(b, s.FlaggedAt)
	b = appendStr(b, s.Reason)
	b = binary.AppendUvarint(b, uint64(len(list)))
	for i, x := range list {
		if x.Kind != store.SightMachine && x.Kind != store.SightNetwork {
			return nil, fmt.Errorf("%w: sighting of kind %d", store.ErrInvalid, x.Kind)
		}
		if i > 0 && cmpSighting(list[i-1], x) == 0 {
			return nil, fmt.Errorf("%w: a sighting twice", store.ErrInvalid)
		}
		b = append(b, byte(x.Kind))
		b = binary.BigEndian.AppendUint64(b, x.Hash)
		b = binary.AppendVarint(b, x.Last)
	}
	return b, nil
}

func cmpSighting(a, b store.Sighting) int {
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return cmp.Compare(a.Hash, b.Hash)
}

func parseSightings(b []byte) (store.Sightings, error) {
	r := recReader{b: b, what: "sightings"}
	var s store.Sightings
	r.start()
	s.FlaggedAt = r.varint("flagged")
	s.Reason = r.str("reason")
	if (s.FlaggedAt == 0) != (s.Reason == "") {
		r.fail("flag without a reason, or a reason without a flag")
	}
	n := r.uvarint(store.MaxSightings, "count")
	for i := uint64(0); i < n && r.err == nil; i++ {
		var x store.Sighting
		x.Kind = store.SightKind(r.byte("kind"))
		if x.Kind != store.SightMachine && x.Kind != store.SightNetwork {
			r.fail("kind")
		}
		var h [8]byte
		r.fixed(h[:], "hash")
		x.Hash = binary.BigEndian.Uint64(h[:])
		x.Last = r.varint("last")
		if len(s.List) > 0 && cmpSighting(s.List[len(s.List)-1], x) >= 0 {
			r.fail("sightings out of order or repeated")
		}
		s.List = append(s.List, x)
	}
	if r.err == nil && s.Empty() {
		r.fail("empty")
	}
	if err := r.end(); err != nil {
		return store.Sightings{}, err
	}
	return s, nil
}

// fillSightings puts a transaction's sightings in batch: nothing when it
// did not read them (nil), a deletion when they are empty.
func fillSightings(batch *pebble.Batch, id store.LicenseID, sg *store.Sightings) error {
	if sg == nil {
		return nil
	}
	if sg.Empty() {
		if err := batch.Delete(sightingsKey(id), nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
		return nil
	}
	rec, err := appendSightings(nil, sg)
	if err != nil {
		return err
	}
	if err := batch.Set(sightingsKey(id), rec, nil); err != nil {
		return fmt.Errorf("store: batch: %w", err)
	}
	return nil
}

// Sightings returns the sightings of the license with this id (none yet:
// the zero value).
func (b *Backend) Sightings(id store.LicenseID) (store.Sightings, error) {
	v, err := b.get(sightingsKey(id))
	if err != nil || v == nil {
		return store.Sightings{}, err
	}
	return parseSightings(v)
}

// FlaggedLicenses returns the flagged licenses, oldest flag first, at most
// limit of them (0: all). A license whose sightings record is damaged is
// listed first, with FlaggedAt 0 and store.DamagedSightings as its reason.
func (b *Backend) FlaggedLicenses(limit int) ([]store.Flagged, error) {
	if b.closed.Load() {
		return nil, store.ErrClosed
	}
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pfxSightings}, UpperBound: []byte{pfxSightings + 1}})
	if err != nil {
		return nil, fmt.Errorf("store: read: %w", err)
	}
	defer it.Close()
	var out []store.Flagged
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("store: read: %w", err)
		}
		if len(k) != 1+len(store.LicenseID{}) {
			return nil, fmt.Errorf("%w: sightings key of %d bytes", store.ErrCorrupt, len(k))
		}
		sg, err := parseSightings(v)
		if err != nil {
			// Listed, so that the operator sees it and can clear it.
			sg = store.Sightings{Reason: store.DamagedSightings(err)}
		} else if sg.FlaggedAt == 0 {
			continue
		}
		l, err := b.LicenseByID(store.LicenseID(k[1:]))
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: sightings of license %x, which does not exist", store.ErrCorrupt, k[1:5])
		}
		if err != nil {
			return nil, err
		}
		out = append(out, store.Flagged{License: l, Sightings: sg})
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("store: read: %w", err)
	}
	slices.SortStableFunc(out, func(x, y store.Flagged) int { return cmp.Compare(x.Sightings.FlaggedAt, y.Sightings.FlaggedAt) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
