package wire

import (
	"encoding/binary"
	"fmt"
	"iter"
	"strconv"
)

// KeyOp is an operation a shop or operator performs on one license key.
// Part of the wire format.
type KeyOp uint8

// Key operations. Part of the wire format.
const (
	KeyOpSuspend KeyOp = 1 // stop the license from validating until resumed
	KeyOpResume  KeyOp = 2 // undo a suspension
	KeyOpRevoke  KeyOp = 3 // end the license for good (refund, abuse)
	KeyOpRenew   KeyOp = 4 // extend the license by a term
	KeyOpStatus  KeyOp = 5 // change nothing; report the license's state
)

var keyOpNames = [...]string{
	KeyOpSuspend: "suspend", KeyOpResume: "resume", KeyOpRevoke: "revoke",
	KeyOpRenew: "renew", KeyOpStatus: "status",
}

// String returns the operation's name, such as "revoke".
func (op KeyOp) String() string {
	if op.Known() {
		return keyOpNames[op]
	}
	return "KeyOp(" + strconv.Itoa(int(op)) + ")"
}

// Known reports whether op is an operation this version defines.
func (op KeyOp) Known() bool { return int(op) < len(keyOpNames) && keyOpNames[op] != "" }

// KeyOpRequest asks the gateway to perform an operation on a license key.
// It is answered, when it succeeds, by a KeyStatusResponse giving the
// license's state afterwards.
//
// Encoding (part of the wire format):
//
//	 0              16     17          20                   50
//	+--------------+------+-----------+--------------------+
//	|  nonce (16)  |  op  | term (3)  | license key (30)   |
//	+--------------+------+-----------+--------------------+
//
// The term is the extension for KeyOpRenew (TermDefault renews by the
// product's default term) and must be zero for every other operation
// (ErrNonCanonical).
type KeyOpRequest struct {
	Nonce [NonceSize]byte
	Op    KeyOp
	Term  Term
	Key   [KeySize]byte // a secret: never print or log it
}

const keyOpRequestLen = NonceSize + 1 + termLen + KeySize

// ParseKeyOpRequest parses a frame body, which must hold exactly one
// KeyOpRequest.
func ParseKeyOpRequest(b []byte) (KeyOpRequest, int, error) {
	var m KeyOpRequest
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	m.Op = KeyOp(d.u8())
	m.Term = d.term()
	d.copy(m.Key[:])
	if err := d.end(); err != nil {
		return KeyOpRequest{}, 0, err
	}
	if err := m.Check(); err != nil {
		return KeyOpRequest{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m KeyOpRequest) Check() error {
	if !m.Op.Known() {
		return fmt.Errorf("%w: key operation %d", ErrInvalidField, uint8(m.Op))
	}
	if m.Op == KeyOpRenew {
		if err := m.Term.Check(); err != nil {
			return err
		}
	} else if m.Term != (Term{}) {
		return fmt.Errorf("%w: term given with key operation %v", ErrNonCanonical, m.Op)
	}
	return checkKeyChars("license key", m.Key[:])
}

// Type returns TypeKeyOpRequest.
func (KeyOpRequest) Type() Type { return TypeKeyOpRequest }

// Len returns the encoded size.
func (m KeyOpRequest) Len() int { return keyOpRequestLen }

// Append appends the encoding of m to b.
func (m KeyOpRequest) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = append(b, byte(m.Op))
	b = m.Term.append(b)
	return append(b, m.Key[:]...)
}

// KeyStatusResponse answers a KeyOpRequest that succeeded with the state of
// the license after the operation.
//
// Encoding (part of the wire format):
//
//	 0              16            18              23           27
//	+--------------+-------------+---------------+------------+
//	|  nonce (16)  | status (2)  | product (5)   | seats (4)  |
//	+--------------+-------------+---------------+------------+
//	 27                 31                39             47
//	+------------------+-----------------+--------------+-------------+
//	| seats used (4)   | activated (8)   | expiry (8)   | activations |
//	+------------------+-----------------+--------------+-------------+
//
// Status is the license's state: StatusOK (in force), StatusSuspended,
// StatusRevoked or StatusExpired. Activated is the Unix time in seconds of
// the first activation, 0 for never; expiry the Unix time in seconds the
// license ends, 0 for none. Activations are encoded as described at
// Activations.
type KeyStatusResponse struct {
	Nonce       [NonceSize]byte
	Status      Status
	Product     [ProductSize]byte
	Seats       uint32
	SeatsUsed   uint32
	Activated   int64 // Unix seconds; 0 for never
	Expiry      int64 // Unix seconds; 0 for none
	Activations Activations
}

const keyStatusResponseFixed = NonceSize + 2 + ProductSize + 4 + 4 + 8 + 8

// ParseKeyStatusResponse parses a frame body, which must hold exactly one
// KeyStatusResponse. Activations point into b.
func ParseKeyStatusResponse(b []byte) (KeyStatusResponse, int, error) {
	var m KeyStatusResponse
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	m.Status = Status(d.u16())
	d.copy(m.Product[:])
	m.Seats = d.u32()
	m.SeatsUsed = d.u32()
	m.Activated = d.i64()
	m.Expiry = d.i64()
	m.Activations = sub(&d, "activations", parseActivations)
	if err := d.end(); err != nil {
		return KeyStatusResponse{}, 0, err
	}
	if err := m.Check(); err != nil {
		return KeyStatusResponse{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
// (Activations are valid by construction.)
func (m KeyStatusResponse) Check() error {
	switch m.Status {
	case StatusOK, StatusSuspended, StatusRevoked, StatusExpired:
	default:
		return fmt.Errorf("%w: license state %v", ErrInvalidField, m.Status)
	}
	if err := checkKeyChars("product", m.Product[:]); err != nil {
		return err
	}
	if err := checkTime("activated", m.Activated); err != nil {
		return err
	}
	return checkTime("expiry", m.Expiry)
}

// Type returns TypeKeyStatusResponse.
func (KeyStatusResponse) Type() Type { return TypeKeyStatusResponse }

// Len returns the encoded size.
func (m KeyStatusResponse) Len() int { return keyStatusResponseFixed + m.Activations.Len() }

// Append appends the encoding of m to b.
func (m KeyStatusResponse) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(m.Status))
	b = append(b, m.Product[:]...)
	b = binary.BigEndian.AppendUint32(b, m.Seats)
	b = binary.BigEndian.AppendUint32(b, m.SeatsUsed)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Activated))
	b = binary.BigEndian.AppendUint64(b, uint64(m.Expiry))
	return m.Activations.Append(b)
}

// MaxActivations is the most activations a KeyStatusResponse lists. Part
// of the wire format.
const MaxActivations = 255

// maxActivationsLen is the largest encoded Activations.
const maxActivationsLen = 1 + MaxActivations*(8+1+MaxHostnameLen)

// Activation is one machine a license is activated on.
type Activation struct {
	Hostname []byte // as the machine reported it; UTF-8, no control characters
	LastSeen int64  // Unix seconds of its last validation
}

// Activations is the list of a license's activations in a
// KeyStatusResponse. It holds the encoding itself: a parsed value points
// into the input. The zero value is the empty list; Add builds one.
//
// Encoding (part of the wire format):
//
//	 0       1                   9       10
//	+-------+-------------------+-------+------------+---- ... ----+
//	| count |  last seen (8)    |  len  |  hostname  | count-1 more|
//	+-------+-------------------+-------+------------+---- ... ----+
//	                                      0..64
//
// count is 0 to MaxActivations. The order is the gateway's choice.
type Activations struct {
	n   uint8
	raw []byte // the entries after the count byte
}

func checkActivation(a Activation) error {
	if err := checkTime("activation last seen", a.LastSeen); err != nil {
		return err
	}
	if err := checkLen("activation hostname", len(a.Hostname), 0, MaxHostnameLen); err != nil {
		return err
	}
	return checkText("activation hostname", a.Hostname)
}

// parseActivations parses an encoded list at the start of b and returns it
// with the number of bytes read. The result points into b.
func parseActivations(b []byte) (Activations, int, error) {
	d := decoder{b: b}
	n := d.u8()
	for range int(n) {
		var a Activation
		a.LastSeen = d.i64()
		a.Hostname = d.bytes8()
		if d.err != nil {
			return Activations{}, 0, d.err
		}
		if err := checkActivation(a); err != nil {
			return Activations{}, 0, err
		}
	}
	if d.err != nil {
		return Activations{}, 0, d.err
	}
	return Activations{n: n, raw: b[1:d.off:d.off]}, d.off, nil
}

// Add appends a to the list. It fails, leaving the list as it was, if the
// list is full or a would not parse. Like append, it may reuse the spare
// capacity of a list it was called on before, so a copy of the list taken
// earlier is not changed but must not be added to as well.
func (l *Activations) Add(a Activation) error {
	if l.n == MaxActivations {
		return fmt.Errorf("%w: more than %d activations", ErrInvalidField, MaxActivations)
	}
	if err := checkActivation(a); err != nil {
		return err
	}
	l.raw = binary.BigEndian.AppendUint64(l.raw, uint64(a.LastSeen))
	l.raw = append(l.raw, byte(len(a.Hostname)))
	l.raw = append(l.raw, a.Hostname...)
	l.n++
	return nil
}

// Count returns the number of activations.
func (l Activations) Count() int { return int(l.n) }

// All yields the activations in order. Hostnames point into the list's
// encoding (for a parsed list, into the input): copy one to keep it.
func (l Activations) All() iter.Seq[Activation] {
	return func(yield func(Activation) bool) {
		raw := l.raw
		for len(raw) >= 9 {
			n := 9 + int(raw[8])
			if n > len(raw) {
				return // cannot happen: parsing and Add check the lengths
			}
			a := Activation{LastSeen: int64(binary.BigEndian.Uint64(raw)), Hostname: raw[9:n:n]}
			if !yield(a) {
				return
			}
			raw = raw[n:]
		}
	}
}

// Len returns the encoded size.
func (l Activations) Len() int { return 1 + len(l.raw) }

// Append appends the encoding of l to b.
func (l Activations) Append(b []byte) []byte {
	b = append(b, l.n)
	return append(b, l.raw...)
}
