package store

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// MaxSightings bounds the sightings a license keeps (machines and networks
// together); past it the least recently seen is dropped.
const MaxSightings = 1024

// SightKind says what a sighting saw.
type SightKind byte

// Sighting kinds. Part of the on-disk format.
const (
	SightMachine SightKind = 1 // an install key
	SightNetwork SightKind = 2 // the network an activation came from
)

// Sighting is one machine or network a license was activated from. Hash
// is a keyed hash of it, never the install key or the address itself.
type Sighting struct {
	Kind SightKind
	Hash uint64
	Last int64 // when it was last seen, Unix seconds
}

// Sightings are the machines and networks a license was activated from
// lately, and whether they were too many: a key shared among people is
// flagged for the operator, who decides what to do (DESIGN.md: "too many
// distinct machines or addresses flags the key"). Flagging refuses
// nothing by itself.
type Sightings struct {
	FlaggedAt int64  // when the license was flagged, Unix seconds; 0: it is not
	Reason    string // why, for the operator
	List      []Sighting
}

// Add records that kind h was seen at now, forgets what was last seen
// before since or more than a day after now (a clock that was set
// forward), and keeps at most MaxSightings (the most recently seen).
func (s *Sightings) Add(kind SightKind, h uint64, now, since int64) {
	s.List = slices.DeleteFunc(s.List, func(x Sighting) bool { return x.Last < since || x.Last > now+86400 })
	found := false
	for i := range s.List {
		if x := &s.List[i]; x.Kind == kind && x.Hash == h {
			x.Last, found = now, true
		}
	}
	if !found {
		s.List = append(s.List, Sighting{Kind: kind, Hash: h, Last: now})
	}
	if len(s.List) > MaxSightings {
		slices.SortStableFunc(s.List, func(a, b Sighting) int { return cmp.Compare(b.Last, a.Last) })
		s.List = s.List[:MaxSightings]
	}
}

// Count returns how many distinct sightings of kind were seen at or after
// since.
func (s *Sightings) Count(kind SightKind, since int64) int {
	n := 0
	for _, x := range s.List {
		if x.Kind == kind && x.Last >= since {
			n++
		}
	}
	return n
}

func (s *Sightings) empty() bool { return s.FlaggedAt == 0 && s.Reason == "" && len(s.List) == 0 }

func sightingsKey(id LicenseID) []byte { return append([]byte{pfxSightings}, id[:]...) }

// appendSightings encodes s as a version 2 record: the flag time, the
// reason, then each sighting as its kind, its hash (8 bytes) and its last
// time, in the order of kind and hash. A record says something: a flag
// (a time and a reason) or at least one sighting; no two sightings are of
// the same kind and hash.
func appendSightings(b []byte, s *Sightings) ([]byte, error) {
	if len(s.Reason) > maxRecString || len(s.List) > MaxSightings || (s.FlaggedAt == 0) != (s.Reason == "") || s.empty() {
		return nil, fmt.Errorf("%w: sightings record out of bounds", ErrInvalid)
	}
	list := slices.Clone(s.List)
	slices.SortFunc(list, cmpSighting)
	b = append(b, recordVersionV2)
	b = binary.AppendVarint(b, s.FlaggedAt)
	b = appendStr(b, s.Reason)
	b = binary.AppendUvarint(b, uint64(len(list)))
	for i, x := range list {
		if x.Kind != SightMachine && x.Kind != SightNetwork {
			return nil, fmt.Errorf("%w: sighting of kind %d", ErrInvalid, x.Kind)
		}
		if i > 0 && cmpSighting(list[i-1], x) == 0 {
			return nil, fmt.Errorf("%w: a sighting twice", ErrInvalid)
		}
		b = append(b, byte(x.Kind))
		b = binary.BigEndian.AppendUint64(b, x.Hash)
		b = binary.AppendVarint(b, x.Last)
	}
	return b, nil
}

func cmpSighting(a, b Sighting) int {
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return cmp.Compare(a.Hash, b.Hash)
}

func parseSightings(b []byte) (Sightings, error) {
	r := recReader{b: b, what: "sightings"}
	var s Sightings
	r.start()
	s.FlaggedAt = r.varint("flagged")
	s.Reason = r.str("reason")
	if (s.FlaggedAt == 0) != (s.Reason == "") {
		r.fail("flag without a reason, or a reason without a flag")
	}
	n := r.uvarint(MaxSightings, "count")
	for i := uint64(0); i < n && r.err == nil; i++ {
		var x Sighting
		x.Kind = SightKind(r.byte("kind"))
		if x.Kind != SightMachine && x.Kind != SightNetwork {
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
	if r.err == nil && s.empty() {
		r.fail("empty")
	}
	if err := r.end(); err != nil {
		return Sightings{}, err
	}
	return s, nil
}

// Sightings returns the license's sightings, read on the first call and
// written with the transaction (the caller changes them in place).
func (tx *Tx) Sightings() (*Sightings, error) {
	if tx.sight != nil {
		return tx.sight, nil
	}
	s, err := tx.st.sightings(tx.License.ID)
	if err != nil {
		return nil, err
	}
	tx.sight = &s
	return tx.sight, nil
}

// ResetSightings sets the license's sightings to none, without reading
// them (a damaged record is replaced).
func (tx *Tx) ResetSightings() { tx.sight = &Sightings{} }

// fillSightings puts the transaction's sightings in b, if it read them.
func (tx *Tx) fillSightings(b *pebble.Batch, id LicenseID) error {
	if tx.sight == nil {
		return nil
	}
	if tx.sight.empty() {
		if err := b.Delete(sightingsKey(id), nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
		return nil
	}
	rec, err := appendSightings(nil, tx.sight)
	if err != nil {
		return err
	}
	if err := b.Set(sightingsKey(id), rec, nil); err != nil {
		return fmt.Errorf("store: batch: %w", err)
	}
	return nil
}

// Sightings returns the sightings of the license with this id (none yet:
// the zero value).
func (s *Store) Sightings(id LicenseID) (Sightings, error) { return s.sightings(id) }

func (s *Store) sightings(id LicenseID) (Sightings, error) {
	v, err := s.get(sightingsKey(id))
	if err != nil || v == nil {
		return Sightings{}, err
	}
	return parseSightings(v)
}

// DamagedSightings is what an operator is told of a sightings record that
// cannot be read: activations go on (they start the record anew) and
// 'license unflag' replaces it.
func DamagedSightings(err error) string {
	return fmt.Sprintf("the record of the machines and networks seen is damaged (%v); 'tollgate license unflag' clears it", err)
}

// Flagged is a flagged license and its sightings.
type Flagged struct {
	License   License
	Sightings Sightings
}

// FlaggedLicenses returns the flagged licenses, oldest flag first, at most
// limit of them (0: all). A license whose sightings record is damaged is
// listed first, with FlaggedAt 0 and DamagedSightings as its reason.
func (s *Store) FlaggedLicenses(limit int) ([]Flagged, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pfxSightings}, UpperBound: []byte{pfxSightings + 1}})
	if err != nil {
		return nil, fmt.Errorf("store: read: %w", err)
	}
	defer it.Close()
	var out []Flagged
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("store: read: %w", err)
		}
		if len(k) != 1+len(LicenseID{}) {
			return nil, fmt.Errorf("%w: sightings key of %d bytes", ErrCorrupt, len(k))
		}
		sg, err := parseSightings(v)
		if err != nil {
			// Listed, so that the operator sees it and can clear it.
			sg = Sightings{Reason: DamagedSightings(err)}
		} else if sg.FlaggedAt == 0 {
			continue
		}
		l, err := s.LicenseByID(LicenseID(k[1:]))
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: sightings of license %x, which does not exist", ErrCorrupt, k[1:5])
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Flagged{License: l, Sightings: sg})
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("store: read: %w", err)
	}
	slices.SortStableFunc(out, func(a, b Flagged) int { return cmp.Compare(a.Sightings.FlaggedAt, b.Sightings.FlaggedAt) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
