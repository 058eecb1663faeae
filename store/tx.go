package store

import (
	"fmt"
	"time"

	"github.com/tollgate/tollgate/keygen"
)

// Tx is the state of one license inside Update: the license and its
// activations, read under the license's lock. The function given to Update
// changes them through its methods; nothing is written if it returns an error.
//
// A backend makes a Tx with NewTx, runs the caller's function on it, and
// writes what Changes reports.
type Tx struct {
	License     License
	Activations []Activation
	Now         time.Time
	// Audit, when set, is appended to the audit log in the same durable
	// commit as the change: the change and its record land together or
	// not at all.
	Audit *AuditEntry

	events    []Event
	puts      []Activation
	dels      []InstallID
	sight     *Sightings // read by Sightings, written with the change
	readSight func() (Sightings, error)
}

// NewTx returns the transaction of license l with its activations acts
// (read under the license's lock) at now. readSightings reads the
// license's sightings; it is called at most once, and only when the
// caller's function asks for them (Tx.Sightings).
func NewTx(l License, acts []Activation, now time.Time, readSightings func() (Sightings, error)) *Tx {
	return &Tx{License: l, Activations: acts, Now: now, readSight: readSightings}
}

// Activation returns the activation of install, if there is one.
func (tx *Tx) Activation(install InstallID) (Activation, bool) {
	for _, a := range tx.Activations {
		if a.Install == install {
			return a, true
		}
	}
	return Activation{}, false
}

// PutActivation records a (new or changed) activation.
func (tx *Tx) PutActivation(a Activation) {
	a.License = tx.License.ID
	tx.puts = append(tx.puts, a)
	for i := range tx.Activations {
		if tx.Activations[i].Install == a.Install {
			tx.Activations[i] = a
			return
		}
	}
	tx.Activations = append(tx.Activations, a)
}

// DeleteActivation frees the seat held by install.
func (tx *Tx) DeleteActivation(install InstallID) {
	tx.dels = append(tx.dels, install)
	for i := range tx.Activations {
		if tx.Activations[i].Install == install {
			tx.Activations = append(tx.Activations[:i], tx.Activations[i+1:]...)
			return
		}
	}
}

// Sightings returns the license's sightings, read on the first call and
// written with the transaction (the caller changes them in place).
func (tx *Tx) Sightings() (*Sightings, error) {
	if tx.sight != nil {
		return tx.sight, nil
	}
	var s Sightings
	if tx.readSight != nil {
		var err error
		if s, err = tx.readSight(); err != nil {
			return nil, err
		}
	}
	tx.sight = &s
	return tx.sight, nil
}

// ResetSightings sets the license's sightings to none, without reading
// them (a damaged record is replaced).
func (tx *Tx) ResetSightings() { tx.sight = &Sightings{} }

// Record appends an event of the license to its shop's stream, in the
// same durable commit as the change, when a shop sold the license
// (License.Shop not empty; otherwise it does nothing). The event's Shop,
// License, Order, Product and Time (Now) are the transaction's; the rest
// (Kind, and Seat, Seats, Machine or Days as the kind has them) the
// caller's. Seq is the backend's.
func (tx *Tx) Record(e Event) {
	l := &tx.License
	if l.Shop == "" {
		return
	}
	e.Seq = 0
	e.Shop, e.License, e.Order, e.Product = l.Shop, l.ID, l.Order, l.Product
	e.Time = tx.Now.Unix()
	tx.events = append(tx.events, e)
}

// TxChanges is what a transaction changed, for its backend to write in one
// commit, in this order: the license record (License, with Activations as
// its number of activations), the deletions, the puts, the sightings, the
// audit entry and the events.
type TxChanges struct {
	License     License
	Activations int // the license's activations after the change
	// Deletes are the installs whose activations (and last-seen records)
	// are deleted.
	Deletes []InstallID
	// Puts are the activations to write (new or replaced), after the
	// deletions. A put of an install deleted later in the transaction is
	// left out; the same install may be put more than once, the last put
	// winning.
	Puts []Activation
	// Sightings are the license's sightings to write when not nil: an
	// empty one (Sightings.Empty) deletes the record. Nil: the transaction
	// did not read them, and they stay as they are.
	Sightings *Sightings
	// Audit, when not nil, is appended to the audit log in the same commit.
	Audit *AuditEntry
	// Events are appended to their shop's stream (all of one shop, the
	// license's) in the same commit, numbered by the backend in order.
	Events []Event
}

// Changes returns what the transaction changed. It refuses (ErrConfig) a
// change of the license's identity, id or key hash, which are id and
// keyHash, those of the license as read.
func (tx *Tx) Changes(id LicenseID, keyHash keygen.KeyHash) (TxChanges, error) {
	if tx.License.ID != id || tx.License.KeyHash != keyHash {
		return TxChanges{}, fmt.Errorf("%w: an update may not change a license's identity", ErrConfig)
	}
	c := TxChanges{License: tx.License, Activations: len(tx.Activations), Deletes: tx.dels, Sightings: tx.sight, Audit: tx.Audit}
	for i := range tx.events {
		e := &tx.events[i]
		if err := e.Check(); err != nil {
			return TxChanges{}, err
		}
		if e.Shop != tx.License.Shop {
			return TxChanges{}, fmt.Errorf("%w: an update records events of its license's shop only", ErrConfig)
		}
	}
	c.Events = tx.events
	for i := range tx.puts {
		a := &tx.puts[i]
		if containsInstall(tx.dels, a.Install) && !hasInstall(tx.Activations, a.Install) {
			continue
		}
		c.Puts = append(c.Puts, *a)
	}
	return c, nil
}

func containsInstall(list []InstallID, in InstallID) bool {
	for _, x := range list {
		if x == in {
			return true
		}
	}
	return false
}

func hasInstall(acts []Activation, in InstallID) bool {
	for i := range acts {
		if acts[i].Install == in {
			return true
		}
	}
	return false
}
