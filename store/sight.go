package store

import (
	"cmp"
	"fmt"
	"slices"
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

// Empty reports whether s says nothing: no flag, no reason, no sighting.
// A backend stores no record of empty sightings.
func (s *Sightings) Empty() bool { return s.FlaggedAt == 0 && s.Reason == "" && len(s.List) == 0 }

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
