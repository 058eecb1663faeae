package store

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/keygen"
)

// Tx is the state of one license inside Update: the license and its
// activations, read under the license's lock. The function given to Update
// changes them through its methods; nothing is written if it returns an error.
type Tx struct {
	License     License
	Activations []Activation
	Now         time.Time
	// Audit, when set, is appended to the audit log in the same durable
	// commit as the change: the change and its record land together or
	// not at all.
	Audit *AuditEntry

	puts  []Activation
	dels  []InstallID
	st    *Store
	sight *Sightings // read by Sightings, written by fill
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

// Update runs fn on the license with this id under the license's lock and
// commits what it changed durably before returning. It returns fn's error
// unchanged (and writes nothing) when fn fails, and ErrNotFound when there is
// no such license.
func (s *Store) Update(id LicenseID, fn func(tx *Tx) error) error {
	return s.update(id, nil, fn)
}

// UpdateLicense is Update of l, a license read before (LicenseByKeyHash):
// under the lock it reads l's record again by its key hash, which spares
// the read of the id index.
func (s *Store) UpdateLicense(l *License, fn func(tx *Tx) error) error {
	return s.update(l.ID, &l.KeyHash, fn)
}

func (s *Store) update(id LicenseID, hash *keygen.KeyHash, fn func(tx *Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	mu := s.lockOf(id)
	mu.Lock()
	defer mu.Unlock()
	var (
		lic   License
		h     keygen.KeyHash
		nacts int
		err   error
	)
	if hash != nil {
		h = *hash
		lic, nacts, err = s.licenseAt(h)
	} else {
		lic, h, nacts, err = s.licenseByID(id)
	}
	if err != nil {
		return err
	}
	if lic.ID != id {
		return ErrNotFound
	}
	var acts []Activation
	if nacts != 0 {
		// A license record keeps its number of activations, so one that
		// never had any (a fresh key's first activation) is not looked up.
		if acts, err = s.Activations(id); err != nil {
			return err
		}
	}
	tx := &Tx{License: lic, Activations: acts, Now: s.cfg.Now(), st: s}
	if err := fn(tx); err != nil {
		return err
	}
	if tx.License.ID != id || tx.License.KeyHash != lic.KeyHash {
		return fmt.Errorf("%w: an update may not change a license's identity", ErrConfig)
	}
	fill := func(b *pebble.Batch) error { return tx.fill(b, id, lic.KeyHash) }
	if tx.Audit != nil {
		if err := s.commitAudited(*tx.Audit, fill); err != nil {
			return err
		}
	} else {
		b := s.db.NewBatch()
		defer b.Close()
		if err := fill(b); err != nil {
			return err
		}
		if err := b.Commit(pebble.Sync); err != nil {
			return fmt.Errorf("store: commit: %w", err)
		}
	}
	// After the commit: a Lookup that loaded the old state before this point
	// holds the old epoch and will reload.
	s.epochOf(id).Add(1)
	return nil
}

// fill puts the transaction's license and activation changes in b.
func (tx *Tx) fill(b *pebble.Batch, id LicenseID, keyHash keygen.KeyHash) error {
	rec, err := encodeLicense(&tx.License, len(tx.Activations))
	if err != nil {
		return err
	}
	if err := b.Set(licenseKey(keyHash), rec, nil); err != nil {
		return fmt.Errorf("store: batch: %w", err)
	}
	for _, in := range tx.dels {
		if err := b.Delete(activationKey(pfxActivation, id, in), nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
		if err := b.Delete(activationKey(pfxSeen, id, in), nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
	}
	for i := range tx.puts {
		a := &tx.puts[i]
		if containsInstall(tx.dels, a.Install) && !hasInstall(tx.Activations, a.Install) {
			continue
		}
		rec, err := encodeActivation(a)
		if err != nil {
			return err
		}
		if err := b.Set(activationKey(pfxActivation, id, a.Install), rec, nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
	}
	return tx.fillSightings(b, id)
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
