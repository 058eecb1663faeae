package pebblestore

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
)

func (b *Backend) lockOf(id store.LicenseID) *sync.Mutex {
	return &b.locks[binary.BigEndian.Uint16(id[2:4])%lockStripes]
}

// Update runs fn on the license with this id under the license's lock
// stripe and commits what it changed (and its audit entry) in one batch,
// durably, before returning. With hash, the license's record is read again
// by its key hash, which spares the read of the id index.
func (b *Backend) Update(id store.LicenseID, hash *keygen.KeyHash, fn func(tx *store.Tx) error) error {
	if b.closed.Load() {
		return store.ErrClosed
	}
	mu := b.lockOf(id)
	mu.Lock()
	defer mu.Unlock()
	var (
		lic   store.License
		h     keygen.KeyHash
		nacts int
		err   error
	)
	if hash != nil {
		h = *hash
		lic, nacts, err = b.licenseAt(h)
	} else {
		lic, h, nacts, err = b.licenseByID(id)
	}
	if err != nil {
		return err
	}
	if lic.ID != id {
		return store.ErrNotFound
	}
	var acts []store.Activation
	if nacts != 0 {
		// A license record keeps its number of activations, so one that
		// never had any (a fresh key's first activation) is not looked up.
		if acts, err = b.Activations(id); err != nil {
			return err
		}
	}
	tx := store.NewTx(lic, acts, b.cfg.Now(), func() (store.Sightings, error) { return b.Sightings(id) })
	if err := fn(tx); err != nil {
		return err
	}
	c, err := tx.Changes(id, lic.KeyHash)
	if err != nil {
		return err
	}
	fill := func(batch *pebble.Batch) error { return fillTx(batch, id, &c) }
	if len(c.Events) > 0 {
		return b.commitEvents(c.Events, c.Audit, fill)
	}
	if c.Audit != nil {
		return b.commitAudited(*c.Audit, fill)
	}
	return b.commit(fill)
}

// fillTx puts a transaction's license, activation and sightings changes
// in batch.
func fillTx(batch *pebble.Batch, id store.LicenseID, c *store.TxChanges) error {
	rec, err := encodeLicense(&c.License, c.Activations)
	if err != nil {
		return err
	}
	if err := batch.Set(licenseKey(c.License.KeyHash), rec, nil); err != nil {
		return fmt.Errorf("store: batch: %w", err)
	}
	for _, in := range c.Deletes {
		if err := batch.Delete(activationKey(pfxActivation, id, in), nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
		if err := batch.Delete(activationKey(pfxSeen, id, in), nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
	}
	for i := range c.Puts {
		rec, err := encodeActivation(&c.Puts[i])
		if err != nil {
			return err
		}
		if err := batch.Set(activationKey(pfxActivation, id, c.Puts[i].Install), rec, nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
	}
	return fillSightings(batch, id, c.Sightings)
}
