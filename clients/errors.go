package clients

import "errors"

// Errors of the client library. A *wire.StatusError is returned when the
// gateway answered with a refusal; these are for everything else, so a
// program can tell a dead network from a refusal from a broken answer.
var (
	ErrConfig      = errors.New("clients: invalid configuration")
	ErrClosed      = errors.New("clients: client closed")
	ErrUnreachable = errors.New("clients: the license server cannot be reached")
	ErrConnection  = errors.New("clients: connection to the license server failed")
	ErrHandshake   = errors.New("clients: the license server is not the one the card names")
	ErrTimeout     = errors.New("clients: the license server did not answer in time")
	ErrProtocol    = errors.New("clients: the license server's answer is malformed")
	ErrLease       = errors.New("clients: the lease is not valid")
	ErrState       = errors.New("clients: the saved license state is damaged")
	// ErrWrongCard: the gateway sent a lease that no lease key of the
	// server card verifies. The channel is authenticated by the card's
	// Noise key and TLS pin, so the lease came from that gateway: the
	// card's lease keys are wrong (another gateway's, out of date) or were
	// tampered with.
	ErrWrongCard = errors.New("clients: the lease is not signed by a key of the server card (a wrong or tampered card)")
	// ErrInstallKeyDamaged: install.key is damaged while a license is
	// activated in the state directory. It is left as it is: a new key
	// would be a new installation to the server, and the seat the old key
	// holds could then never be freed from this machine.
	ErrInstallKeyDamaged = errors.New("clients: the install key is damaged while a license is activated")
)
