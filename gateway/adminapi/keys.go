package adminapi

// The operations on the gateway's lease-signing keys: list them, rotate
// (a new key signs from now on, introduced to installed apps by a
// statement the current key signs), and date an earlier key's retirement.
// On a running gateway a rotation switches the key it signs with at once.
var (
	OpKeysList   = Op[None, LeaseKeys]{"keys.list"}
	OpKeysRotate = Op[KeyRotation, LeaseKeys]{"keys.rotate"}
	OpKeysRetire = Op[KeyRetirement, LeaseKeys]{"keys.retire"}
)

// KeyRotation asks for a new lease-signing key. Scheme names the new
// key's scheme ("mldsa44-ed25519"; empty: the current key's);
// RetireAfter (Unix seconds; zero: 90 days from now) is when apps stop
// trusting the current key for new leases.
type KeyRotation struct {
	Scheme      string `json:"scheme,omitempty"`
	RetireAfter int64  `json:"retire_after,omitempty"`
}

// KeyRetirement dates the retirement of the earlier key whose id starts
// with ID (at least 4 of its 16 hex digits): After, Unix seconds.
type KeyRetirement struct {
	ID    string `json:"id"`
	After int64  `json:"after"`
}

// LeaseKeys are the gateway's lease keys, the signing one first.
type LeaseKeys struct {
	Keys []LeaseKey `json:"keys"`
}

// LeaseKey is one lease key of the gateway: public facts only.
type LeaseKey struct {
	ID          string `json:"id"` // its composite key id, 16 hex digits
	Scheme      string `json:"scheme"`
	Signing     bool   `json:"signing"`                // the key that signs leases now
	Since       int64  `json:"since,omitempty"`        // when it began to sign, after a rotation
	RetireAfter int64  `json:"retire_after,omitempty"` // when apps stop trusting it for new leases
}

// LeaseKeys lists the gateway's lease keys.
func (c *Client) LeaseKeys() (LeaseKeys, error) { return Call(c, OpKeysList, None{}) }

// RotateLeaseKey makes a new lease-signing key (see KeyRotation).
func (c *Client) RotateLeaseKey(r KeyRotation) (LeaseKeys, error) { return Call(c, OpKeysRotate, r) }

// RetireLeaseKey dates an earlier key's retirement (see KeyRetirement).
func (c *Client) RetireLeaseKey(r KeyRetirement) (LeaseKeys, error) {
	return Call(c, OpKeysRetire, r)
}

// The operations on the gateway's transport keys (the Noise static key and
// the TLS key and certificate the card names): list them, announce the
// next, switch to it, retire the previous. On a running gateway each
// applies to new connections at once.
var (
	OpKeysTransport         = Op[None, TransportKeys]{"keys.transport"}
	OpKeysAnnounceTransport = Op[None, TransportKeys]{"keys.announce_transport"}
	OpKeysSwitchTransport   = Op[None, TransportKeys]{"keys.switch_transport"}
	OpKeysRetireTransport   = Op[None, TransportKeys]{"keys.retire_transport"}
)

// TransportKeys are the gateway's transport keys, the current first.
type TransportKeys struct {
	Keys []TransportKey `json:"keys"`
}

// TransportKey is one transport key of the gateway: public facts only.
type TransportKey struct {
	Role     string `json:"role"`            // current, next (announced) or previous (still accepted)
	NoiseKey string `json:"noise_key"`       // noisepub:BASE64, as the card's noise-key
	TLSPin   string `json:"tls_pin"`         // sha256/BASE64, as the card's tls-pin
	Since    int64  `json:"since,omitempty"` // when announced (next) or switched from (previous)
}

// TransportKeys lists the gateway's transport keys.
func (c *Client) TransportKeys() (TransportKeys, error) { return Call(c, OpKeysTransport, None{}) }

// AnnounceTransport makes the next transport keys and adds them to the card.
func (c *Client) AnnounceTransport() (TransportKeys, error) {
	return Call(c, OpKeysAnnounceTransport, None{})
}

// SwitchTransport makes the announced next transport keys the current ones.
func (c *Client) SwitchTransport() (TransportKeys, error) {
	return Call(c, OpKeysSwitchTransport, None{})
}

// RetireTransport drops the previous transport keys.
func (c *Client) RetireTransport() (TransportKeys, error) {
	return Call(c, OpKeysRetireTransport, None{})
}
