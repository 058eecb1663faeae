package gateway

import "errors"

var (
	ErrIdentityExists  = errors.New("gateway: an identity already exists")
	ErrNoIdentity      = errors.New("gateway: no identity in the data directory")
	ErrIdentityCorrupt = errors.New("gateway: identity files are damaged")
	// ErrConfig is a bad configuration: the config file, the gateway's
	// flags, the data directory's ownership and mode.
	ErrConfig = errors.New("gateway: invalid configuration")
	// ErrUsage is an operator command that is not valid as given: a
	// malformed key, network or product code, conflicting flags, a shop
	// allowed a product not in the catalogue.
	ErrUsage = errors.New("invalid command")
)
