package store

import (
	"fmt"

	"github.com/tollgate/tollgate/wire"
)

// Product is one entry of the catalogue: what a key of this product code
// grants unless the order says otherwise.
type Product struct {
	Code     string `json:"code"` // 5 characters of 0-9A-Z, the keys' first group
	Name     string `json:"name"`
	Platform string `json:"platform,omitempty"` // such as "windows", "linux"
	// Term and Seats are the default license type L(term, seats). Seats
	// is at most SeatLimit; zero means 1.
	Term  Term   `json:"term"`
	Seats uint32 `json:"seats"`
	// MaxSeats is the most seats one key of this product may carry,
	// whatever an order or an operator asks: zero means DefaultMaxSeats. Only
	// a site license may go above DefaultMaxSeats, up to SiteSeatCeiling.
	// Records written before the field existed read as zero.
	MaxSeats uint32 `json:"max_seats,omitempty"`
	// SiteLicense marks a product sold to a whole site: it must state its
	// MaxSeats, which may then exceed DefaultMaxSeats.
	SiteLicense bool `json:"site_license,omitempty"`
	// Entitlements are the features a license carries by default.
	Entitlements []string `json:"entitlements,omitempty"`
	// Bundle lists further product codes a key of this product licenses
	// (a suite).
	Bundle []string `json:"bundle,omitempty"`
	// Policy is the validation level, online and warning days, and lease
	// lifetime copied into each license.
	Policy Policy `json:"policy"`
	// TrialDays, when not zero, makes the default license a trial of that
	// many days from first activation.
	TrialDays uint16 `json:"trial_days,omitempty"`
	// Base, when not empty, makes this product a plug-in of the product of
	// that code: its licenses are valid only beside a license of the base
	// on the same machine. (Floating seats are Policy.Floating.)
	Base string `json:"base,omitempty"`
	// Messages are the publisher's own texts for the messages its users
	// see: language -> message id -> text (i18n.Overrides). They go out in
	// the product's leases (Lease.Messages), so an app offline shows them
	// too. Checked by checkMessages.
	Messages map[string]map[string]string `json:"messages,omitempty"`
	// TrialOffer, when set, offers a keyless trial of the product: once
	// per machine, without a key (TrialOffer; not to be confused with
	// TrialDays, a default term of minted keys).
	TrialOffer *TrialOffer `json:"trial_offer,omitempty"`
}

// Seat bounds of the catalogue. A key carries 1 to its product's
// SeatLimit seats; the store, the shop channel and the operator's mint
// all refuse more.
const (
	// DefaultMaxSeats is the most seats a key may carry when its product
	// states no maximum (or is not in the catalogue): the seed model sells
	// 1 to 100 PCs.
	DefaultMaxSeats = 100
	// SiteSeatCeiling is the hard ceiling of a site license's MaxSeats.
	SiteSeatCeiling = 100000
)

// SeatLimit returns the most seats a key of p may carry.
func (p *Product) SeatLimit() uint32 {
	if p.MaxSeats == 0 {
		return DefaultMaxSeats
	}
	return p.MaxSeats
}

// seatError is a refused seat count: ErrInvalid to the store's callers,
// StatusBadRequest to a peer, and a message that gives the allowed range.
func seatError(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrInvalid, &wire.StatusError{Status: wire.StatusBadRequest, Message: fmt.Sprintf(format, args...)})
}

// Check reports whether p is a usable catalogue entry.
func (p *Product) Check() error {
	if !ValidProductCode(p.Code) {
		return fmt.Errorf("%w: %q is not a valid product code: 5 characters of 0-9A-Z", ErrInvalid, p.Code)
	}
	if p.Name == "" {
		return fmt.Errorf("%w: product %s has no name", ErrInvalid, p.Code)
	}
	// What a lease must carry has to be valid on the wire, or activations
	// of this product would fail when the lease is signed.
	if _, err := wire.NewEntitlements(p.Entitlements...); err != nil {
		return fmt.Errorf("%w: product %s: entitlements: %w", ErrInvalid, p.Code, err)
	}
	codes := make([][wire.ProductSize]byte, len(p.Bundle))
	for i, c := range p.Bundle {
		if len(c) != wire.ProductSize || c == p.Code {
			return fmt.Errorf("%w: product %s: bundle code %q", ErrInvalid, p.Code, c)
		}
		copy(codes[i][:], c)
	}
	if _, err := wire.NewLeaseBundle(codes...); err != nil {
		return fmt.Errorf("%w: product %s: bundle: %w", ErrInvalid, p.Code, err)
	}
	switch {
	case p.MaxSeats > SiteSeatCeiling:
		return seatError("product %s: at most %d seats is above the ceiling of %d that even a site license has", p.Code, p.MaxSeats, SiteSeatCeiling)
	case p.SiteLicense && p.MaxSeats == 0:
		return seatError("product %s: a site license states its maximum seats (1 to %d)", p.Code, SiteSeatCeiling)
	case !p.SiteLicense && p.MaxSeats > DefaultMaxSeats:
		return seatError("product %s: at most %d seats needs a site license; otherwise the maximum is 1 to %d", p.Code, p.MaxSeats, DefaultMaxSeats)
	case p.Seats > p.SeatLimit():
		return seatError("product %s: default seats %d outside 1..%d, the seats it allows", p.Code, p.Seats, p.SeatLimit())
	}
	if err := p.TrialOffer.check(p.Code); err != nil {
		return err
	}
	if p.Policy.Level > 3 {
		return fmt.Errorf("%w: product %s: validation level %d", ErrInvalid, p.Code, p.Policy.Level)
	}
	if err := p.Policy.CheckFloating(); err != nil {
		return fmt.Errorf("product %s: %w", p.Code, err)
	}
	return p.checkMessages()
}

// ValidProductCode reports whether code is a product code: 5 characters
// of 0-9A-Z (counted as characters, not bytes).
func ValidProductCode(code string) bool {
	if len(code) != 5 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// DefaultTerm returns the term a license of p gets when the order names
// none: the trial length, else the product's term, else one year.
func (p *Product) DefaultTerm() Term {
	switch {
	case p.TrialDays > 0:
		return Term{Kind: TermDays, Value: p.TrialDays}
	case p.Term.Kind != TermDefault:
		return p.Term
	}
	return Term{Kind: TermYears, Value: 1}
}
