// Package channel is the secure channel between Tollgate's gateway and its
// clients: QUIC connections authenticated by a pinned TLS certificate, and
// inside each QUIC stream a Noise session (IK for apps, KK for shops) that
// carries the protocol's frames encrypted and authenticated end to end.
//
// # Protocol
//
// ALPN is "tollgate/1". On a stream the initiator first sends, in the
// clear, a preamble: the protocol version, the Noise pattern and, for KK,
// the 8-byte id of its static key. Then each Noise message, handshake or
// transport, is sent as a 2-byte big-endian length and the message (at
// most 65535 bytes). The prologue is "tollgate/1 v1" followed by the
// preamble, so a peer that saw a different preamble fails the handshake.
// Before any Diffie-Hellman the responder may refuse the stream: it sends
// a zero length, impossible for a Noise message, and a 2-byte status code,
// then closes (see RefusedError).
//
// After the handshake the plaintexts form a byte stream of frames, each a
// 10-byte header with the body length at bytes 6 to 10 (wire.Header)
// followed by the body. A frame longer than one Noise message is split
// across several and reassembled by ReadFrame.
//
// # Contract
//
// A Session's WriteFrame is safe for concurrent use; frames are sent whole
// and in the order the calls take the session's write lock. ReadFrame must
// be called by one goroutine at a time (a second concurrent call fails with
// ErrConcurrentRead); it may run concurrently with WriteFrame. Close may be
// called at any time, from any goroutine.
//
// Errors are final, meaning the session is unusable and the caller must
// open a new one, unless stated otherwise: ErrDecrypt, ErrRecord,
// ErrNonceCeiling, ErrFrameTooLarge from ReadFrame, ErrFrameTimeout,
// ErrSessionIdle, ErrClosed, any error
// from the stream while writing, and any handshake error are final. Not
// final: ErrBadFrame, ErrFrameTooLarge and ErrConcurrentRead returned
// before anything was sent or read, and a read deadline expiring in
// ReadFrame (the partial record stays buffered; call ReadFrame again).
//
// # Bounds on the responder
//
// A session made by a server handshake is bounded in time as well as in
// size, so that a peer cannot hold it, and its stream, by saying nothing
// while its connection's keep-alives run. Once the first byte of a frame,
// or of a Noise message, has arrived, the rest must arrive within
// Limits.FrameTimeout, else ReadFrame fails with ErrFrameTimeout; and a
// session that completes no frame for Limits.SessionIdleTimeout fails with
// ErrSessionIdle. Either way reception stops (a QUIC stream is cancelled
// for reading), while the sending side stays open for the answers the
// owner still has to give before it closes. Frames that arrive whole cost
// no clock reading and no deadline; see Session.SetReadDeadline for a
// deadline of the caller's own on such a session.
//
// # What it must never do
//
// channel knows streams and keys, not messages: it never parses a frame
// beyond its length, never imports the store, the gateway or the clients,
// and never prints, logs or puts into an error a private key, a session key
// or a plaintext.
package channel
