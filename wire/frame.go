package wire

import (
	"encoding/binary"
	"strconv"
)

// Frame and field sizes. Part of the wire format.
const (
	// ProtocolVersion is the only frame version this package reads and
	// writes. A peer that speaks another version is refused, never guessed
	// at: a new version may lay out even the header differently.
	ProtocolVersion = 1

	// HeaderSize is the size of a frame header.
	HeaderSize = 10

	// MaxFrameSize is the largest body any frame may declare. A frame may
	// span several Noise messages, so it is not bounded by their 64 KiB;
	// this bound is what a reader may have to buffer for one frame. Each
	// type has a tighter bound of its own (see ParseHeader).
	MaxFrameSize = 1 << 20

	// NonceSize is the size of the nonce every request carries and every
	// response echoes.
	NonceSize = 16

	// LicenseIDSize is the size of a license id.
	LicenseIDSize = 16

	// KeySize is the length of a license key in its canonical form: 30
	// characters from 0-9A-Z, without dashes.
	KeySize = 30

	// ProductSize is the length of a product code, the first five
	// characters of a license key.
	ProductSize = 5

	// MaxLeaseSize is the largest encoded lease a response may carry.
	MaxLeaseSize = 16384
)

// Type is a frame's message type. The values are part of the wire format:
// never renumber one, only add. Requests are odd, their responses the next
// even number; TypeErrorResponse answers any request.
type Type uint8

// Message types. Part of the wire format.
const (
	TypeActivateRequest    Type = 0x01
	TypeActivateResponse   Type = 0x02
	TypeValidateRequest    Type = 0x03
	TypeValidateResponse   Type = 0x04
	TypeDeactivateRequest  Type = 0x05
	TypeDeactivateResponse Type = 0x06
	TypeTimeRequest        Type = 0x07
	TypeTimeResponse       Type = 0x08
	TypeMintRequest        Type = 0x09
	TypeMintResponse       Type = 0x0A
	TypeKeyOpRequest       Type = 0x0B
	TypeKeyStatusResponse  Type = 0x0C
	TypeEventsRequest      Type = 0x0D
	TypeEventsResponse     Type = 0x0E
	TypeOrderRequest       Type = 0x0F
	TypeOrderResponse      Type = 0x10
	TypeTrialRequest       Type = 0x11
	TypeTrialResponse      Type = 0x12

	// An air-gapped machine's activation request and release proof, carried
	// by a shop for its customer (offline.go).
	TypeOfflineAnswerRequest   Type = 0x13
	TypeOfflineAnswerResponse  Type = 0x14
	TypeOfflineReleaseRequest  Type = 0x15
	TypeOfflineReleaseResponse Type = 0x16
	TypeSeatResetRequest       Type = 0x17 // shop channel: a customer frees a seat (seatreset.go)
	TypeSeatResetResponse      Type = 0x18

	TypeErrorResponse Type = 0x7F
)

var typeNames = [...]string{
	TypeActivateRequest:    "ActivateRequest",
	TypeActivateResponse:   "ActivateResponse",
	TypeValidateRequest:    "ValidateRequest",
	TypeValidateResponse:   "ValidateResponse",
	TypeDeactivateRequest:  "DeactivateRequest",
	TypeDeactivateResponse: "DeactivateResponse",
	TypeTimeRequest:        "TimeRequest",
	TypeTimeResponse:       "TimeResponse",
	TypeMintRequest:        "MintRequest",
	TypeMintResponse:       "MintResponse",
	TypeKeyOpRequest:       "KeyOpRequest",
	TypeKeyStatusResponse:  "KeyStatusResponse",
	TypeEventsRequest:      "EventsRequest",
	TypeEventsResponse:     "EventsResponse",
	TypeOrderRequest:       "OrderRequest",
	TypeOrderResponse:      "OrderResponse",
	TypeTrialRequest:       "TrialRequest",
	TypeTrialResponse:      "TrialResponse",

	TypeOfflineAnswerRequest:   "OfflineAnswerRequest",
	TypeOfflineAnswerResponse:  "OfflineAnswerResponse",
	TypeOfflineReleaseRequest:  "OfflineReleaseRequest",
	TypeOfflineReleaseResponse: "OfflineReleaseResponse",
	TypeSeatResetRequest:       "SeatResetRequest",
	TypeSeatResetResponse:      "SeatResetResponse",

	TypeErrorResponse: "ErrorResponse",
}

// String returns the message type's name, such as "ValidateRequest".
func (t Type) String() string {
	if t.Known() {
		return typeNames[t]
	}
	return "Type(0x" + strconv.FormatUint(uint64(t), 16) + ")"
}

// Known reports whether t is a type this version of the protocol defines.
func (t Type) Known() bool { return int(t) < len(typeNames) && typeNames[t] != "" }

// maxBodyLen returns the largest body a valid message of type t can have,
// or 0 if t is unknown. Every one is far below MaxFrameSize; the header
// check uses them so that a reader never buffers more for a frame than its
// type can need (a 1 MiB "ValidateRequest" is refused before it is read).
// TestMaxBodyLen builds the largest message of each type and checks these.
func maxBodyLen(t Type) int {
	switch t {
	case TypeActivateRequest:
		return activateRequestFixed + maxFingerprintLen + 1 + MaxHostnameLen + 1 + MaxAppVersionLen + LicenseIDSize
	case TypeActivateResponse:
		return activateResponseFixed + 2 + MaxLeaseSize
	case TypeValidateRequest:
		return validateRequestFixed + maxFingerprintLen
	case TypeValidateResponse:
		return validateResponseFixed + 2 + MaxLeaseSize
	case TypeDeactivateRequest:
		return deactivateRequestLen + 1
	case TypeDeactivateResponse:
		return deactivateResponseLen
	case TypeTimeRequest:
		return timeRequestLen
	case TypeTimeResponse:
		return timeResponseLen
	case TypeMintRequest:
		return mintRequestFixed + 1 + MaxOrderIDLen + maxEntitlementsLen
	case TypeMintResponse:
		return NonceSize + 1 + MaxOrderIDLen + 2 + SealedKeysLen(MaxMintCount)
	case TypeKeyOpRequest:
		return keyOpRequestLen
	case TypeKeyStatusResponse:
		return keyStatusResponseFixed + maxActivationsLen
	case TypeEventsRequest:
		return eventsRequestLen
	case TypeEventsResponse:
		return NonceSize + 2 + MaxEvents*eventMaxLen
	case TypeOrderRequest:
		return NonceSize + 1 + MaxOrderIDLen
	case TypeOrderResponse:
		return NonceSize + 8 + 2 + maxOrderLen + SealedKeysLen(MaxMintCount)
	case TypeOfflineAnswerRequest, TypeOfflineAnswerResponse, TypeOfflineReleaseRequest, TypeOfflineReleaseResponse:
		return offlineMaxBodyLen(t)
	case TypeTrialRequest:
		return trialRequestFixed + maxFingerprintLen + 1 + MaxHostnameLen + 1 + MaxAppVersionLen
	case TypeTrialResponse:
		return trialResponseFixed + 2 + MaxLeaseSize
	case TypeSeatResetRequest:
		return seatResetRequestFixed + 1 + MaxHostnameLen
	case TypeSeatResetResponse:
		return seatResetResponseLen
	case TypeErrorResponse:
		return errorResponseFixed + 1 + MaxErrorMessageLen + 8
	}
	return 0
}

// Header is the header in front of every frame. The plaintext of a Noise
// channel is a sequence of frames, each a header and a body of
// Header.Length bytes.
//
// Encoding (part of the wire format; integers are big-endian):
//
//	 0         1        2                  6                  10
//	+---------+--------+------------------+------------------+
//	| version |  type  |  request id (4)  | body length (4)  |
//	+---------+--------+------------------+------------------+
//
// The version is ProtocolVersion. The request id is chosen by the sender of
// a request and echoed in its response, so that many requests can be in
// flight on one stream and answered in any order.
type Header struct {
	Type      Type
	RequestID uint32
	Length    uint32 // body length in bytes
}

// ParseHeader parses the frame header at the start of b and returns it with
// the number of bytes read, HeaderSize. Bytes after the header are not
// looked at: b is typically a stream buffer holding the body and more.
//
// The version is checked as soon as its byte is there, so that a peer
// speaking another version gets ErrUnsupportedVersion rather than a header
// misread under this version's layout. Then: fewer than HeaderSize bytes is
// ErrShort, an unknown type ErrUnknownType, and a body length beyond what
// the type can need (never more than MaxFrameSize) ErrTooLarge. Every
// error is fatal to the stream, since the frame boundary is then unknown or
// untrusted.
func ParseHeader(b []byte) (Header, int, error) {
	if len(b) < 1 {
		return Header{}, 0, ErrShort
	}
	if b[0] != ProtocolVersion {
		return Header{}, 0, ErrUnsupportedVersion
	}
	if len(b) < HeaderSize {
		return Header{}, 0, ErrShort
	}
	h := Header{
		Type:      Type(b[1]),
		RequestID: binary.BigEndian.Uint32(b[2:6]),
		Length:    binary.BigEndian.Uint32(b[6:10]),
	}
	if !h.Type.Known() {
		return Header{}, 0, ErrUnknownType
	}
	if uint64(h.Length) > uint64(maxBodyLen(h.Type)) {
		return Header{}, 0, ErrTooLarge
	}
	return h, HeaderSize, nil
}

// Len returns the encoded size of the header, HeaderSize.
func (h Header) Len() int { return HeaderSize }

// Append appends the encoding of h, with version ProtocolVersion, to b.
func (h Header) Append(b []byte) []byte {
	b = append(b, ProtocolVersion, byte(h.Type))
	b = binary.BigEndian.AppendUint32(b, h.RequestID)
	return binary.BigEndian.AppendUint32(b, h.Length)
}

// Message is implemented by every request and response type in this
// package.
type Message interface {
	Type() Type             // the frame type that carries it
	Len() int               // the encoded body size
	Append(b []byte) []byte // appends the encoded body
	Check() error           // reports what its parser would reject, or nil
}

// AppendFrame appends a whole frame, header and body, carrying m under
// request id reqID. It does not allocate when b has room for
// HeaderSize+m.Len() more bytes (it is generic so that m is not boxed into
// an interface).
//
// AppendFrame encodes m as it is: for a message that did not come from a
// parser, call m.Check first, or the peer will refuse the frame.
func AppendFrame[M Message](b []byte, reqID uint32, m M) []byte {
	b = Header{Type: m.Type(), RequestID: reqID, Length: uint32(m.Len())}.Append(b)
	return m.Append(b)
}

// PeekNonce returns the nonce at the start of a frame body. Every body of
// every type begins with its nonce, so a gateway answering a request it
// cannot parse can still echo the nonce in its ErrorResponse. ok is false
// if the body is shorter than NonceSize.
func PeekNonce(body []byte) (nonce [NonceSize]byte, ok bool) {
	if len(body) < NonceSize {
		return nonce, false
	}
	return [NonceSize]byte(body[:NonceSize]), true
}
