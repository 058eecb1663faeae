package store

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/tollgate/tollgate/wire"
)

// TrialOffer is a product's keyless trial (Product.TrialOffer): Days days
// from its start on one machine, once per machine, with Entitlements (the
// publisher's choice, which may be fewer than a bought key's). The trial's
// license takes the product's policy.
type TrialOffer struct {
	Days         uint16   `json:"days"`
	Entitlements []string `json:"entitlements,omitempty"`
}

// MaxTrialDays is the longest trial a product may offer.
const MaxTrialDays = 366

// check refuses (ErrInvalid) an offer of no days or more than
// MaxTrialDays, or with entitlements a lease cannot carry. A nil offer
// is none, and valid.
func (o *TrialOffer) check(code string) error {
	if o == nil {
		return nil
	}
	if o.Days < 1 || o.Days > MaxTrialDays {
		return fmt.Errorf("%w: product %s: a trial of %d days: offer 1 to %d days", ErrInvalid, code, o.Days, MaxTrialDays)
	}
	if _, err := wire.NewEntitlements(o.Entitlements...); err != nil {
		return fmt.Errorf("%w: product %s: trial entitlements: %w", ErrInvalid, code, err)
	}
	return nil
}

// Trial is the mark a product's keyless trial leaves: which install of
// which machine had it, and its license. The gateway keeps it so that a
// machine gets one trial of a product, whatever install asks (a new state
// directory or a reinstall is a new install on the same machine, found by
// its fingerprint).
type Trial struct {
	Product string    // the product code
	Install InstallID // the install the trial was started for
	License LicenseID // the trial's license (License.Trial)
	// Fingerprint is the machine's, each component keyed under the
	// gateway's secret as a private Activation's is: a stolen database
	// holds none of the client's hashes.
	Fingerprint wire.Fingerprint
	Hostname    string
	Started     int64 // Unix seconds
	Ends        int64 // Unix seconds
}

// trialRecord is a Trial's stored form, JSON in both backends.
type trialRecord struct {
	Product     string `json:"product"`
	Install     string `json:"install"`
	License     string `json:"license"`
	Fingerprint string `json:"fingerprint"`
	Hostname    string `json:"hostname,omitempty"`
	Started     int64  `json:"started"`
	Ends        int64  `json:"ends"`
}

// EncodeTrial returns t's record, as backends store it.
func EncodeTrial(t *Trial) ([]byte, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	return json.Marshal(trialRecord{
		Product: t.Product, Install: hex.EncodeToString(t.Install[:]), License: hex.EncodeToString(t.License[:]),
		Fingerprint: hex.EncodeToString(t.Fingerprint.Append(nil)), Hostname: t.Hostname, Started: t.Started, Ends: t.Ends,
	})
}

// DecodeTrial reads a record EncodeTrial wrote; anything else is
// ErrCorrupt.
func DecodeTrial(b []byte) (Trial, error) {
	var r trialRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return Trial{}, fmt.Errorf("%w: trial record: %v", ErrCorrupt, err)
	}
	t := Trial{Product: r.Product, Hostname: r.Hostname, Started: r.Started, Ends: r.Ends}
	fp, err := hex.DecodeString(r.Fingerprint)
	if err != nil {
		return Trial{}, fmt.Errorf("%w: trial record fingerprint", ErrCorrupt)
	}
	var n int
	if t.Fingerprint, n, err = wire.ParseFingerprint(fp); err != nil || n != len(fp) {
		return Trial{}, fmt.Errorf("%w: trial record fingerprint", ErrCorrupt)
	}
	if err := decodeHexID(t.Install[:], r.Install); err != nil {
		return Trial{}, err
	}
	if err := decodeHexID(t.License[:], r.License); err != nil {
		return Trial{}, err
	}
	if err := t.Check(); err != nil {
		return Trial{}, fmt.Errorf("%w: trial record: %v", ErrCorrupt, err)
	}
	return t, nil
}

func decodeHexID(dst []byte, s string) error {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(dst) {
		return fmt.Errorf("%w: trial record id", ErrCorrupt)
	}
	copy(dst, b)
	return nil
}

// Check reports whether t is a trial a backend may keep (ErrInvalid
// otherwise): a product code, a fingerprint, and an end after its start.
func (t *Trial) Check() error {
	switch {
	case !ValidProductCode(t.Product):
		return fmt.Errorf("%w: trial of %q: not a product code", ErrInvalid, t.Product)
	case t.Fingerprint.N == 0 || int(t.Fingerprint.N) > wire.MaxComponents:
		return fmt.Errorf("%w: trial without a fingerprint", ErrInvalid)
	case t.Started <= 0 || t.Ends <= t.Started:
		return fmt.Errorf("%w: trial ends before it starts", ErrInvalid)
	}
	return nil
}

// NewTrial is what Backend.StartTrial writes in one commit: the trial's
// license (with its one activation: License.Trial set), the mark, and the
// audit entry.
type NewTrial struct {
	License    License
	Activation Activation
	Trial      Trial
	Audit      AuditEntry
}

// check refuses (ErrInvalid) a new trial whose parts do not belong
// together, or that is not the trial StartTrial was asked for.
func (n *NewTrial) check(product string, install InstallID, fp wire.Fingerprint) error {
	if err := n.Trial.Check(); err != nil {
		return err
	}
	l, a, t := &n.License, &n.Activation, &n.Trial
	switch {
	case !l.Trial || l.Product != product || t.Product != product:
		return fmt.Errorf("%w: a new trial's license must be a trial of its product", ErrInvalid)
	case t.Install != install || a.Install != install:
		return fmt.Errorf("%w: a new trial must be of the install that asked", ErrInvalid)
	case t.License != l.ID || a.License != l.ID || l.ID != IDFor(l.KeyHash):
		return fmt.Errorf("%w: a new trial's mark, activation and license must name one license", ErrInvalid)
	case t.Fingerprint != fp:
		return fmt.Errorf("%w: a new trial's mark must keep the fingerprint it was looked up by", ErrInvalid)
	case l.Seats != 1:
		return fmt.Errorf("%w: a trial license has one seat", ErrInvalid)
	}
	return nil
}

// CheckNewTrial is what a backend's StartTrial checks of decide's answer
// before writing it: the parts of n belong together and to the product
// install and fingerprint asked for (ErrInvalid otherwise).
func CheckNewTrial(n *NewTrial, product string, install InstallID, fp wire.Fingerprint) error {
	return n.check(product, install, fp)
}

// TrialComponentKey returns the index key of one fingerprint component
// of a trial (kind, then keyed hash): the trials a backend finds for
// StartTrial are those that share one with the machine asking.
func TrialComponentKey(c wire.FPComponent) [1 + wire.FPHashSize]byte {
	var k [1 + wire.FPHashSize]byte
	k[0] = byte(c.Kind)
	copy(k[1:], c.Hash[:])
	return k
}

// StartTrial runs Backend.StartTrial: decide sees the product's earlier
// trials of this install or sharing a fingerprint component with fp, and
// returns the new trial to write (nil: none). The new license holds an
// activation but was never cached: the cache needs nothing.
func (s *Store) StartTrial(product string, install InstallID, fp wire.Fingerprint, decide func(prior []Trial) (*NewTrial, error)) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.b.StartTrial(product, install, fp, decide)
}

// Trials returns the trial marks of product, or of every product when
// product is empty (Backend.Trials).
func (s *Store) Trials(product string) ([]Trial, error) { return s.b.Trials(product) }
