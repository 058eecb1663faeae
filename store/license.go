package store

import (
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

// TermKind says how a license's term is counted: the wire format's term
// kinds (wire.TermKind), so that a term passes between a request and a
// record without conversion. Part of the on-disk format.
type TermKind = wire.TermKind

// Term kinds, as the wire format numbers them.
const (
	TermDefault   = wire.TermDefault // the product's default (resolved at mint time; never stored)
	TermYears     = wire.TermYears
	TermMonths    = wire.TermMonths
	TermPerpetual = wire.TermPerpetual
	TermDays      = wire.TermDays // trials
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
	// Floating makes the seats concurrent: a seat is checked out for
	// LeaseSeconds, kept by heartbeats (validations), and free again once
	// its lease has run out, with no operator action.
	Floating bool `json:"floating,omitempty"`
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
	// Base is a plug-in's base product code: the license is valid only on
	// a machine that holds a license of that product. Empty for others.
	Base string `json:"base,omitempty"`
	// Trial marks a license the gateway minted itself for a keyless trial.
	Trial bool `json:"trial,omitempty"`
	// Resets holds the times (Unix seconds) of the customer's self-service
	// seat resets within the last 30 days, oldest first.
	Resets []int64 `json:"resets,omitempty"`
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
func (l *License) Expired(now int64) bool { return Ended(l.Expiry(), now) }

// Ended reports whether a term that ends at expiry (License.Expiry: Unix
// seconds, 0 for never) is over at now. The hot path keeps a license's
// expiry with its cache entry and asks this, not Expired.
func Ended(expiry, now int64) bool { return expiry != 0 && now >= expiry }

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

// IDFor returns the id a new license with key hash h gets: the first 16
// bytes of h. A backend can then find a license by its id through its key
// hash (the Pebble backend: the record's own key, so that a mint writes one
// record per key and no index entry: half the gateway's CPU per minted key,
// BENCHMARKS.md). The id says nothing of the key: h is a hash keyed with
// the server's secret. Licenses minted before ids were derived keep their
// random ids (and, in Pebble, their index entries).
func IDFor(h keygen.KeyHash) LicenseID { return LicenseID(h[:16]) }
