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
)
