package pebblestore

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

func trialKey(product string, in store.InstallID) []byte {
	k := make([]byte, 0, 1+len(product)+len(in))
	k = append(k, pfxTrial)
	k = append(k, product...)
	return append(k, in[:]...)
}

// trialFPPrefix is the prefix of the index entries of one fingerprint
// component of product's trials; the install follows.
func trialFPPrefix(product string, c wire.FPComponent) []byte {
	ck := store.TrialComponentKey(c)
	k := make([]byte, 0, 1+len(product)+len(ck)+32)
	k = append(k, pfxTrialFP)
	k = append(k, product...)
	return append(k, ck[:]...)
}

// StartTrial finds the product's earlier trials of install or of a machine
// sharing a fingerprint component with fp (through the U index), lets
// decide judge, and writes the new trial in one synced, audited batch. One
// lock serialises every StartTrial: trials are rare.
func (b *Backend) StartTrial(product string, install store.InstallID, fp wire.Fingerprint, decide func(prior []store.Trial) (*store.NewTrial, error)) error {
	if b.closed.Load() {
		return store.ErrClosed
	}
	if !store.ValidProductCode(product) {
		return fmt.Errorf("%w: %q is not a product code", store.ErrInvalid, product)
	}
	b.trialMu.Lock()
	defer b.trialMu.Unlock()
	installs := map[store.InstallID]bool{install: true}
	for _, c := range fp.Components() {
		pfx := trialFPPrefix(product, c)
		err := b.scan(pfx, func(k, _ []byte) error {
			if len(k) != len(pfx)+len(store.InstallID{}) {
				return fmt.Errorf("%w: trial index key", store.ErrCorrupt)
			}
			installs[store.InstallID(k[len(pfx):])] = true
			return nil
		})
		if err != nil {
			return err
		}
	}
	var prior []store.Trial
	for in := range installs {
		v, err := b.get(trialKey(product, in))
		if err != nil {
			return err
		}
		if v == nil {
			continue
		}
		t, err := store.DecodeTrial(v)
		if err != nil {
			return err
		}
		prior = append(prior, t)
	}
	sortTrials(prior)
	n, err := decide(prior)
	if err != nil || n == nil {
		return err
	}
	if err := store.CheckNewTrial(n, product, install, fp); err != nil {
		return err
	}
	if v, err := b.get(licenseKey(n.License.KeyHash)); err != nil {
		return err
	} else if v != nil {
		return fmt.Errorf("%w: the trial's license", store.ErrExists)
	}
	if v, err := b.get(trialKey(product, install)); err != nil {
		return err
	} else if v != nil {
		return fmt.Errorf("%w: a trial of this install", store.ErrExists)
	}
	return b.commitAudited(n.Audit, func(batch *pebble.Batch) error {
		rec, err := encodeLicense(&n.License, 1)
		if err != nil {
			return err
		}
		if err := batch.Set(licenseKey(n.License.KeyHash), rec, nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
		if rec, err = encodeActivation(&n.Activation); err != nil {
			return err
		}
		if err := batch.Set(activationKey(pfxActivation, n.License.ID, install), rec, nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
		if rec, err = store.EncodeTrial(&n.Trial); err != nil {
			return err
		}
		if err := batch.Set(trialKey(product, install), rec, nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
		for _, c := range n.Trial.Fingerprint.Components() {
			if err := batch.Set(append(trialFPPrefix(product, c), install[:]...), nil, nil); err != nil {
				return fmt.Errorf("store: batch: %w", err)
			}
		}
		return nil
	})
}

// Trials returns the trial marks of product (every product when empty),
// ordered by product and install: a scan of the T prefix.
func (b *Backend) Trials(product string) ([]store.Trial, error) {
	if product != "" && !store.ValidProductCode(product) {
		return nil, fmt.Errorf("%w: %q is not a product code", store.ErrInvalid, product)
	}
	var out []store.Trial
	err := b.scan(append([]byte{pfxTrial}, product...), func(_, v []byte) error {
		t, err := store.DecodeTrial(v)
		if err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	return out, err
}

func sortTrials(ts []store.Trial) {
	slices.SortFunc(ts, func(x, y store.Trial) int { return bytes.Compare(x.Install[:], y.Install[:]) })
}
