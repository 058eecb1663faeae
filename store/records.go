package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// LicenseID is a license's random public identifier: what leases and
// validations name instead of the key.
type LicenseID = [16]byte

// InstallID identifies one installation: the SHA-256 of its per-install
// Noise static public key.
type InstallID = [32]byte

// State is a license's administrative state.
type State uint8

// License states. Part of the on-disk format.
const (
	StateActive    State = 0
	StateSuspended State = 1
	StateRevoked   State = 2
)

func (s State) String() string {
	switch s {
	case StateActive:
		return "active"
	case StateSuspended:
		return "suspended"
	case StateRevoked:
		return "revoked"
	}
	return fmt.Sprintf("state-%d", s)
}

// TermKind says how a license's term is counted. Values match the wire
// format's MintRequest term kinds.
type TermKind uint8

const (
	TermDefault   TermKind = 0 // the product's default (resolved at mint time; never stored)
	TermYears     TermKind = 1
	TermMonths    TermKind = 2
	TermPerpetual TermKind = 3
	TermDays      TermKind = 4 // trials
)

// Term is a license's period of use, counted from its first activation.
type Term struct {
	Kind  TermKind `json:"kind"`
	Value uint16   `json:"value,omitempty"`
}

// End returns when a term that started at start ends, or the zero time for
// a perpetual term.
func (t Term) End(start time.Time) time.Time {
	switch t.Kind {
	case TermYears:
		return start.AddDate(int(t.Value), 0, 0)
	case TermMonths:
		return start.AddDate(0, int(t.Value), 0)
	case TermDays:
		return start.AddDate(0, 0, int(t.Value))
	}
	return time.Time{}
}

func (t Term) String() string {
	switch t.Kind {
	case TermYears:
		return fmt.Sprintf("%d year(s)", t.Value)
	case TermMonths:
		return fmt.Sprintf("%d month(s)", t.Value)
	case TermDays:
		return fmt.Sprintf("%d day(s)", t.Value)
	case TermPerpetual:
		return "perpetual"
	}
	return "default"
}

// Policy is how a license may be used offline; it is copied from the product
// when the license is minted, so validation needs no catalogue lookup.
type Policy struct {
	Level        uint8  `json:"level"`         // validation level 1, 2 or 3
	OnlineDays   uint16 `json:"online_days"`   // level 3: a server check is required within this many days
	WarnDays     uint16 `json:"warn_days"`     // level 3: warn this many days before
	LeaseSeconds uint32 `json:"lease_seconds"` // lifetime of a signed lease
}

// License is one license key's record. The key itself is not in it: only
// its keyed hash.
type License struct {
	ID           LicenseID      `json:"id"`
	KeyHash      keygen.KeyHash `json:"key_hash"`
	Product      string         `json:"product"`
	Bundle       []string       `json:"bundle,omitempty"` // further product codes of a suite
	Entitlements []string       `json:"entitlements,omitempty"`
	Seats        uint32         `json:"seats"`
	Term         Term           `json:"term"`
	AbsExpiry    int64          `json:"abs_expiry,omitempty"` // Unix seconds; 0: none
	Activated    int64          `json:"activated,omitempty"`  // first activation, Unix seconds; 0: never
	State        State          `json:"state"`
	Policy       Policy         `json:"policy"`
	Created      int64          `json:"created"`
	Shop         string         `json:"shop,omitempty"`
	Order        string         `json:"order,omitempty"`
}

// Expiry returns when the license ends, Unix seconds, or 0 when it does not
// (perpetual and no absolute expiry, or a term not yet started).
func (l *License) Expiry() int64 {
	var end int64
	if l.Activated != 0 {
		if t := l.Term.End(time.Unix(l.Activated, 0)); !t.IsZero() {
			end = t.Unix()
		}
	}
	if l.AbsExpiry != 0 && (end == 0 || l.AbsExpiry < end) {
		end = l.AbsExpiry
	}
	return end
}

// Expired reports whether the license is over at now (Unix seconds).
func (l *License) Expired(now int64) bool {
	e := l.Expiry()
	return e != 0 && now >= e
}

// Activation is one install's binding to a license: a seat.
type Activation struct {
	License LicenseID `json:"license"`
	Install InstallID `json:"install"`
	// Fingerprint is the machine's fingerprint and Lease the latest lease
	// signed for it. With Private, the gateway keeps them under its secret:
	// each component hash hashed again, the lease sealed, so that a stolen
	// database holds none of the client's hashes (whose key, the product
	// code, is public). Without it (records of earlier gateways), both are
	// as the client sent and received them.
	Fingerprint wire.Fingerprint `json:"-"`
	Private     bool             `json:"-"`
	Hostname    string           `json:"hostname"`
	AppVersion  string           `json:"app_version,omitempty"`
	Created     int64            `json:"created"`
	LastSeen    int64            `json:"last_seen"`
	Counter     uint64           `json:"counter"`
	Lease       []byte           `json:"lease,omitempty"`
	LeaseIssued int64            `json:"lease_issued,omitempty"`
	LeaseExpiry int64            `json:"lease_expiry,omitempty"`
}

// Record versions. Part of the on-disk format. Version 1 records are JSON
// objects with a "v" field; version 2 records are binary (recbin.go) and
// begin with the byte 2, which no JSON text does. Records are written in
// version 2 and read in either. Activations are written in version 3
// (binary, with flags) and read in any.
const (
	recordVersion   = 1
	recordVersionV2 = 2
	recordVersionV3 = 3
)

type licenseRecord struct {
	V int `json:"v"`
	*License
}

type activationRecord struct {
	V  int    `json:"v"`
	FP []byte `json:"fp"`
	*Activation
}

// unknownActs is the activation count of a license record that does not
// keep one (version 1): the store must look.
const unknownActs = -1

// encodeLicense encodes l with the number of activations it has (0 for a
// new license), which lets Update skip looking for activations of a
// license that has none.
func encodeLicense(l *License, acts int) ([]byte, error) {
	return appendLicenseV2(nil, l, acts)
}

// decodeLicenseActs decodes a license record and the number of activations
// it records, or unknownActs.
func decodeLicenseActs(b []byte) (License, int, error) {
	if len(b) > 0 && b[0] == recordVersionV2 {
		return parseLicenseV2(b)
	}
	var l License
	r := licenseRecord{License: &l}
	if err := json.Unmarshal(b, &r); err != nil {
		return License{}, 0, fmt.Errorf("%w: license: %w", ErrCorrupt, err)
	}
	if r.V != recordVersion {
		return License{}, 0, fmt.Errorf("%w: license record version %d", ErrCorrupt, r.V)
	}
	// As version 2 reads them: an empty list is no list.
	if len(l.Bundle) == 0 {
		l.Bundle = nil
	}
	if len(l.Entitlements) == 0 {
		l.Entitlements = nil
	}
	return l, unknownActs, nil
}

func encodeActivation(a *Activation) ([]byte, error) {
	return appendActivationV3(nil, a)
}

func decodeActivation(b []byte) (Activation, error) {
	if len(b) > 0 && (b[0] == recordVersionV2 || b[0] == recordVersionV3) {
		return parseActivationBin(b)
	}
	var a Activation
	r := activationRecord{Activation: &a}
	if err := json.Unmarshal(b, &r); err != nil {
		return Activation{}, fmt.Errorf("%w: activation: %w", ErrCorrupt, err)
	}
	if r.V != recordVersion {
		return Activation{}, fmt.Errorf("%w: activation record version %d", ErrCorrupt, r.V)
	}
	fp, n, err := wire.ParseFingerprint(r.FP)
	if err != nil || n != len(r.FP) {
		return Activation{}, fmt.Errorf("%w: activation fingerprint", ErrCorrupt)
	}
	a.Fingerprint = fp
	if len(a.Lease) == 0 {
		a.Lease = nil
	}
	return a, nil
}
