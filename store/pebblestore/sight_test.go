package pebblestore

import (
	"errors"
	"reflect"
	"testing"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/storetest"
)

func TestSightingsRecord(t *testing.T) {
	t.Parallel()
	s := store.Sightings{FlaggedAt: 1700000000, Reason: "activated on 4 machines in 30 days, for 1 seat(s)",
		List: []store.Sighting{{Kind: store.SightMachine, Hash: 1<<63 + 5, Last: 1700000000}, {Kind: store.SightNetwork, Hash: 7, Last: -1}}}
	rec, err := appendSightings(nil, &s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseSightings(rec)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for name, b := range map[string][]byte{
		"empty":         nil,
		"short":         rec[:len(rec)-1],
		"trailing":      append(append([]byte(nil), rec...), 0),
		"version":       append([]byte{recordVersionV2 + 1}, rec[1:]...),
		"too many":      {recordVersionV2, 0, 0, 0xff, 0xff, 0x03},
		"unknown kind":  {recordVersionV2, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"missing items": {recordVersionV2, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"empty record":  {recordVersionV2, 0, 0, 0},
		"flag, no why":  {recordVersionV2, 2, 0, 0},
		"why, no flag":  {recordVersionV2, 0, 1, 'x', 0},
		"repeated":      {recordVersionV2, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0},
		"out of order":  {recordVersionV2, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0},
	} {
		if _, err := parseSightings(b); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	for name, bad := range map[string]store.Sightings{
		"unknown kind": {List: []store.Sighting{{Kind: 9}}},
		"twice":        {List: []store.Sighting{{Kind: store.SightMachine, Hash: 1, Last: 1}, {Kind: store.SightMachine, Hash: 1, Last: 2}}},
		"empty":        {},
		"no reason":    {FlaggedAt: 1},
	} {
		if _, err := appendSightings(nil, &bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: encoded: %v", name, err)
		}
	}
	// Written in the order of kind and hash, whatever the order in memory.
	unsorted := store.Sightings{List: []store.Sighting{{Kind: store.SightNetwork, Hash: 1, Last: 5}, {Kind: store.SightMachine, Hash: 9, Last: 5}, {Kind: store.SightMachine, Hash: 2, Last: 5}}}
	rec, err = appendSightings(nil, &unsorted)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := parseSightings(rec); err != nil || got.List[0].Hash != 2 || got.List[2].Kind != store.SightNetwork {
		t.Fatalf("unsorted sightings: %+v, %v", got, err)
	}
}

// TestClearedSightingsDeleted: sightings cleared in an update leave no
// record behind.
func TestClearedSightingsDeleted(t *testing.T) {
	t.Parallel()
	b := openBackend(t, t.TempDir())
	defer b.Close()
	l := storetest.NewLicense(t, 1)
	if err := b.CreateLicenses([]store.License{l}, nil); err != nil {
		t.Fatal(err)
	}
	for _, clear := range []bool{false, true} {
		err := b.Update(l.ID, nil, func(tx *store.Tx) error {
			sg, err := tx.Sightings()
			if clear {
				*sg = store.Sightings{}
			} else {
				sg.Add(store.SightMachine, 42, 100, 0)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := b.get(sightingsKey(l.ID)); err != nil || (v == nil) != clear {
			t.Fatalf("cleared %v: record %x, %v", clear, v, err)
		}
	}
}
