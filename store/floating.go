package store

import "fmt"

// Bounds of a floating product's checkout time (Policy.LeaseSeconds): a
// seat whose heartbeats stop is free again after at most a day, and a
// client heartbeats no more often than every few seconds.
const (
	MinCheckoutSeconds = 10
	MaxCheckoutSeconds = 24 * 3600
)

// CheckFloating reports whether a floating policy states a usable
// checkout time; nil for a policy that is not floating.
func (p Policy) CheckFloating() error {
	if !p.Floating {
		return nil
	}
	if p.LeaseSeconds < MinCheckoutSeconds || p.LeaseSeconds > MaxCheckoutSeconds {
		return fmt.Errorf("%w: a floating product's checkout time must be %d seconds to %d hours, not %d seconds (set it with --checkout)",
			ErrInvalid, MinCheckoutSeconds, MaxCheckoutSeconds/3600, p.LeaseSeconds)
	}
	return nil
}
