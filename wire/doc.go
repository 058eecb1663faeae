// Package wire is the Tollgate protocol as bytes: the frames that client
// apps, shops and the gateway exchange, the request and response messages
// they carry, status codes, machine fingerprints and the signed lease.
//
// # Frames
//
// The decrypted plaintext of a Noise channel is a sequence of frames, each
// a 10-byte Header (version, type, request id, body length) followed by a
// body of that length. A frame may span several Noise messages, so a body
// may be longer than one of them, up to MaxFrameSize and, per type, up to
// the largest body that type can have. The sender of a request picks its
// request id and the response echoes it, so that many requests can be in
// flight on one stream and be answered out of order.
//
// Every message body begins with a 16-byte nonce: a request's is random and
// its response (ErrorResponse included) echoes it, tying each answer to the
// question it answers. Integers are big-endian. Fixed-size fields come
// first, then self-delimiting ones (fingerprint, entitlement and activation
// lists) and fields with a one- or two-byte length prefix.
//
// # Codec shape
//
// Each message type Xxx has ParseXxx(body) (Xxx, int, error), which parses
// exactly one frame body, and methods Append, Len, Type and Check; together
// they satisfy Message, and AppendFrame writes a header and body in one go.
// Parsing never allocates: byte-slice fields point into the body, which the
// caller must therefore keep unchanged while it uses the message.
//
// Parsers are strict, so that every message has exactly one encoding and a
// peer cannot smuggle meaning past one implementation that another would
// read differently: truncation is ErrShort, extra bytes ErrTrailing, a value
// out of range ErrInvalidField, a second encoding of the same meaning (a
// reserved bit set, names out of order) ErrNonCanonical, each wrapped to
// name the field. Check reports the same for a message built in memory, so
// a sender can refuse to send what its peer would refuse to read.
//
// # What it must never do
//
// wire knows bytes, not sockets, sessions or disks: it imports only the
// standard library and keygen/composite. It must never panic on input,
// never allocate on a parse that succeeds, and never put a license key,
// a private key or other secret into an error message, a String method or
// any other output: errors say what is wrong and where, never with what.
package wire
