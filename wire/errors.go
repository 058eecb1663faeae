package wire

import "errors"

// Parse errors. A parser returns one of these (possibly wrapped with %w to
// say which field) and nothing else.
var (
	ErrShort              = errors.New("wire: message truncated")
	ErrTrailing           = errors.New("wire: trailing bytes after message")
	ErrUnsupportedVersion = errors.New("wire: unsupported protocol version")
	ErrUnknownType        = errors.New("wire: unknown frame type")
	ErrTooLarge           = errors.New("wire: frame exceeds maximum size")
	ErrNonCanonical       = errors.New("wire: non-canonical encoding")
	ErrInvalidField       = errors.New("wire: invalid field value")
)

// Lease errors.
var (
	ErrLeaseMagic     = errors.New("wire: not a tollgate lease")
	ErrLeaseSignature = errors.New("wire: lease signature does not verify")
	ErrLeaseKey       = errors.New("wire: lease signed by a key this card does not hold")
	ErrArmor          = errors.New("wire: malformed armor") // of a lease, offline request or release
)

// StatusError is an error a peer can act on: it carries the Status that
// goes on the wire and a short message for people. It is what the gateway
// sends in an ErrorResponse and what the client library returns for one.
type StatusError struct {
	Status  Status
	Message string // plain text, never a license key or secret
	// RetryAt, when not zero, is when the same request may succeed (Unix
	// seconds): a floating license's next free seat.
	RetryAt int64
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return "tollgate: " + e.Status.String()
	}
	return "tollgate: " + e.Status.String() + ": " + e.Message
}

// Retryable reports whether the same request may succeed later.
func (e *StatusError) Retryable() bool { return e.Status.Retryable() }

// StatusOf returns the Status carried by err, StatusUnsupportedVersion for
// ErrUnsupportedVersion, StatusBadRequest for other parse errors, and
// StatusServerError for anything else. It returns StatusOK for nil.
func StatusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	var se *StatusError
	switch {
	case errors.As(err, &se):
		return se.Status
	case errors.Is(err, ErrUnsupportedVersion):
		return StatusUnsupportedVersion
	case errors.Is(err, ErrShort), errors.Is(err, ErrTrailing), errors.Is(err, ErrUnknownType),
		errors.Is(err, ErrTooLarge), errors.Is(err, ErrNonCanonical), errors.Is(err, ErrInvalidField):
		return StatusBadRequest
	}
	return StatusServerError
}
