package channel

import (
	"errors"
	"strconv"
)

// Errors returned by this package. The package doc says which are final.
var (
	ErrHandshake        = errors.New("channel: handshake failed")
	ErrHandshakeTimeout = errors.New("channel: handshake timed out")
	ErrRefused          = errors.New("channel: handshake refused")
	ErrDecrypt          = errors.New("channel: message failed to decrypt")
	ErrRecord           = errors.New("channel: malformed transport message")
	ErrNonceCeiling     = errors.New("channel: nonce ceiling reached, open a new session")
	ErrFrameTooLarge    = errors.New("channel: frame exceeds maximum size")
	ErrFrameTimeout     = errors.New("channel: frame not completed within the frame timeout")
	ErrSessionIdle      = errors.New("channel: session idle, no request within the idle timeout")
	ErrBadFrame         = errors.New("channel: malformed frame")
	ErrConcurrentRead   = errors.New("channel: concurrent ReadFrame calls")
	ErrClosed           = errors.New("channel: session closed")
	ErrNoDeadline       = errors.New("channel: stream does not support deadlines")
	ErrPinMismatch      = errors.New("channel: server certificate does not match the card's pin")
	ErrLimits           = errors.New("channel: invalid limits")
	ErrConfig           = errors.New("channel: invalid config")
	ErrKeyFile          = errors.New("channel: malformed key file")
	ErrKey              = errors.New("channel: malformed key")
)

// RefusedError is a refusal the responder sent before any Diffie-Hellman,
// with a status code for the initiator to act on. The codes are the
// protocol's status codes (wire.Status): a KK lookup that returns
// &RefusedError{Code: 12} refuses the shop with wire.StatusShopNotAllowed.
//
// On the responder a lookup function returns one to choose the code sent;
// on the initiator the handshake returns one (wrapped) when the responder
// refused.
type RefusedError struct {
	Code uint16
}

// Is makes errors.Is(err, ErrRefused) true for a RefusedError.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

func (e *RefusedError) Error() string {
	return "channel: handshake refused by the server, status " + strconv.Itoa(int(e.Code))
}

// Refusal codes the responder sends on its own account. They are wire
// status codes; TestRefusalCodes checks them against package wire.
const (
	codeServerError        = 14 // wire.StatusServerError: lookup failed without a RefusedError
	codeUnsupportedVersion = 15 // wire.StatusUnsupportedVersion: preamble of another version
	codeBadRequest         = 16 // wire.StatusBadRequest: a pattern this responder does not take
)
