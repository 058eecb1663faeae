package gateway

import "errors"

var (
	ErrIdentityExists  = errors.New("gateway: an identity already exists")
	ErrNoIdentity      = errors.New("gateway: no identity in the data directory")
	ErrIdentityCorrupt = errors.New("gateway: identity files are damaged")
	ErrConfig          = errors.New("gateway: invalid configuration")
)
