package channel

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flynn/noise"
	"github.com/quic-go/quic-go"
	"golang.org/x/crypto/chacha20poly1305"
)

// Stream error codes this package resets QUIC streams with. Part of the
// wire format.
const (
	// StreamCodeDone stops the peer's sending when a session is closed.
	StreamCodeDone quic.StreamErrorCode = 0
	// StreamCodeAborted resets a stream whose handshake failed or whose
	// session was closed during a write.
	StreamCodeAborted quic.StreamErrorCode = 1
)

const (
	// readBufSize is the first size of a session's receive buffer: a few
	// small messages. It and the send buffer grow to fit the largest
	// message seen, 64 KiB at most.
	readBufSize = 2048
	// keepBuffer is the largest frame buffer a session keeps between
	// frames: a bigger one, grown for a large frame, is dropped once the
	// frame is done, so that a session that saw one 1 MiB frame does not
	// hold 1 MiB for the rest of its life.
	keepBuffer = 128 << 10
)

// Session is a Noise transport session on one stream: frames in, frames
// out, encrypted and authenticated. See the package doc for who may call
// what concurrently and which errors are final.
type Session struct {
	rw      io.ReadWriteCloser
	pattern Pattern
	remote  PublicKey
	maxBody uint64 // largest frame body, from Limits.MaxFrameSize
	maxMsgs uint64 // nonce ceiling per direction, from Limits.MaxMessages

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	// Writer state, under wmu: holding the lock from encryption to the end
	// of the write keeps nonce order and stream order the same.
	wmu    sync.Mutex
	send   cipher.AEAD
	sendN  uint64 // messages sent, the next nonce
	wnonce [chacha20poly1305.NonceSize]byte
	wbuf   []byte // one length-prefixed message, reused
	werr   error  // sticky

	// Reader state, owned by the one ReadFrame in progress.
	reading    atomic.Bool
	recv       cipher.AEAD
	recvN      uint64 // messages received, the next nonce
	rnonce     [chacha20poly1305.NonceSize]byte
	rbuf       []byte // rbuf[roff:rend] came from the stream, not yet decrypted
	roff, rend int
	pbuf       []byte // plaintext; pbuf[:pdone] is the frame ReadFrame returned last
	pdone      int
	rerr       error // sticky

	// Responder's bounds, set by enforce; zero on an initiator's session.
	// The frame deadline fields are the reader's, like the rest above.
	rdl          readDeadliner // rw's read deadline; nil if it has none
	frameTimeout time.Duration // zero: no frame deadline
	frameArmed   bool          // a frame is in progress and rdl bounds it
	frameDL      time.Time     // when the frame in progress must be complete
	userDL       time.Time     // the caller's read deadline (SetReadDeadline)
	watch        *idleWatch    // nil: no idle bound
	active       atomic.Bool   // a frame was completed since the watch's last tick
}

type readDeadliner interface{ SetReadDeadline(time.Time) error }

// newSession turns the cipher states a handshake split into a session.
// The transport uses the keys with its own ChaChaPoly instances rather than
// noise.CipherState, whose Encrypt and Decrypt allocate a nonce on every
// call; the nonce layout is the Noise spec's (4 zero bytes, then the
// counter little-endian), which TestNoiseCompatible checks against
// flynn/noise.
func newSession(rw io.ReadWriteCloser, p Pattern, remote PublicKey, lim Limits, send, recv *noise.CipherState) (*Session, error) {
	sk, rk := send.UnsafeKey(), recv.UnsafeKey()
	defer clear(sk[:])
	defer clear(rk[:])
	s := &Session{
		rw:      rw,
		pattern: p,
		remote:  remote,
		maxBody: uint64(lim.MaxFrameSize),
		maxMsgs: lim.MaxMessages,
		sendN:   send.Nonce(),
		recvN:   recv.Nonce(),
	}
	var err error
	if s.send, err = chacha20poly1305.New(sk[:]); err != nil {
		abort(rw)
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if s.recv, err = chacha20poly1305.New(rk[:]); err != nil {
		abort(rw)
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	return s, nil
}

// RemoteStatic returns the peer's static public key: for the gateway, the
// app's install key (IK) or the shop's key (KK); for a client, the
// gateway's key it was configured with.
func (s *Session) RemoteStatic() PublicKey { return s.remote }

// Pattern returns the handshake pattern the session was made with.
func (s *Session) Pattern() Pattern { return s.pattern }

// WriteFrame encrypts and sends one frame: a 10-byte header whose last
// four bytes give the body length, then the body. A frame longer than one
// Noise message is split across several. It is safe for concurrent use and
// does not allocate once its buffer has grown to the frames it sends.
//
// A frame that is malformed (ErrBadFrame) or too large (ErrFrameTooLarge)
// is refused before anything is sent; the session stays usable. Every
// other error is final: ErrNonceCeiling when the frame would take the
// session past Limits.MaxMessages, ErrClosed after Close, or the stream's
// error (a write deadline included: part of a message may have gone out).
func (s *Session) WriteFrame(frame []byte) error {
	if len(frame) < HeaderSize {
		return fmt.Errorf("%w: %d bytes, shorter than a header", ErrBadFrame, len(frame))
	}
	body := uint64(binary.BigEndian.Uint32(frame[lengthOffset:]))
	if body > s.maxBody {
		return fmt.Errorf("%w: body of %d bytes, limit %d", ErrFrameTooLarge, body, s.maxBody)
	}
	if HeaderSize+body != uint64(len(frame)) {
		return fmt.Errorf("%w: header says %d body bytes, frame has %d", ErrBadFrame, body, len(frame)-HeaderSize)
	}
	msgs := (uint64(len(frame)) + maxChunk - 1) / maxChunk

	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.werr != nil {
		return s.werr
	}
	if s.closed.Load() {
		s.werr = ErrClosed
		return s.werr
	}
	// A frame goes whole or not at all, so the check covers all its
	// messages. sendN <= maxMsgs always, so the subtraction cannot wrap.
	if msgs > s.maxMsgs-s.sendN {
		s.werr = ErrNonceCeiling
		return s.werr
	}
	for len(frame) > 0 {
		chunk := frame[:min(len(frame), maxChunk)]
		frame = frame[len(chunk):]
		if need := 2 + len(chunk) + tagSize; cap(s.wbuf) < need {
			s.wbuf = make([]byte, 0, need)
		}
		b := binary.BigEndian.AppendUint16(s.wbuf[:0], uint16(len(chunk)+tagSize))
		binary.LittleEndian.PutUint64(s.wnonce[4:], s.sendN)
		b = s.send.Seal(b, s.wnonce[:], chunk, nil)
		s.sendN++
		if _, err := s.rw.Write(b); err != nil {
			if s.closed.Load() {
				s.werr = ErrClosed
			} else {
				s.werr = fmt.Errorf("channel: writing: %w", err)
			}
			return s.werr
		}
	}
	return nil
}

// ReadFrame returns the next frame, header and body. The frame lives in the
// session's buffer: it is valid until the next call to ReadFrame, and the
// caller must not keep it longer. One goroutine at a time may call it.
// Once its buffers have grown to the frames received it does not allocate.
//
// A frame whose header declares a body longer than Limits.MaxFrameSize is
// refused with ErrFrameTooLarge as soon as the header is read, before its
// body. The stream ending between frames returns io.EOF, inside a frame
// io.ErrUnexpectedEOF. A read deadline expiring returns an error wrapping
// os.ErrDeadlineExceeded that is not final. Every other error is final.
func (s *Session) ReadFrame() ([]byte, error) {
	if !s.reading.CompareAndSwap(false, true) {
		return nil, ErrConcurrentRead
	}
	defer s.reading.Store(false)
	if s.rerr != nil {
		return nil, s.rerr
	}
	s.dropFrame()
	for {
		if len(s.pbuf) >= HeaderSize {
			body := uint64(binary.BigEndian.Uint32(s.pbuf[lengthOffset:]))
			if body > s.maxBody {
				s.rerr = fmt.Errorf("%w: header declares a body of %d bytes, limit %d", ErrFrameTooLarge, body, s.maxBody)
				s.readEnded()
				return nil, s.rerr
			}
			if n := HeaderSize + body; uint64(len(s.pbuf)) >= n {
				s.pdone = int(n)
				if s.frameArmed {
					s.frameArmed = false
					_ = s.rdl.SetReadDeadline(s.userDL)
				}
				// A load per frame; a store once per tick of the watch.
				if s.watch != nil && !s.active.Load() {
					s.active.Store(true)
				}
				return s.pbuf[:n:n], nil
			}
		}
		if err := s.readMessage(); err != nil {
			if s.rerr != nil {
				s.readEnded()
			}
			return nil, err
		}
	}
}

// readEnded stops the idle watch once reading has failed for good.
func (s *Session) readEnded() {
	if s.watch != nil {
		s.watch.stop()
	}
}

// dropFrame forgets the frame returned last, keeping whatever followed it,
// and lets go of buffers grown for a large frame.
func (s *Session) dropFrame() {
	if s.pdone == 0 {
		return
	}
	rest := copy(s.pbuf, s.pbuf[s.pdone:])
	s.pbuf, s.pdone = s.pbuf[:rest], 0
	if rest == 0 && cap(s.pbuf) > keepBuffer {
		s.pbuf = nil
	}
}

// readMessage reads one transport message and appends its plaintext to
// pbuf.
func (s *Session) readMessage() error {
	if err := s.fill(2); err != nil {
		return s.readFailed(err, s.rend == s.roff && len(s.pbuf) == 0)
	}
	n := int(binary.BigEndian.Uint16(s.rbuf[s.roff:]))
	if n <= tagSize {
		// Never sent: WriteFrame puts at least one byte in a message.
		s.rerr = fmt.Errorf("%w: %d bytes", ErrRecord, n)
		return s.rerr
	}
	if s.recvN >= s.maxMsgs {
		s.rerr = ErrNonceCeiling
		return s.rerr
	}
	if err := s.fill(2 + n); err != nil {
		return s.readFailed(err, false)
	}
	s.pbuf = slices.Grow(s.pbuf, n-tagSize)
	binary.LittleEndian.PutUint64(s.rnonce[4:], s.recvN)
	out, err := s.recv.Open(s.pbuf, s.rnonce[:], s.rbuf[s.roff+2:s.roff+2+n], nil)
	if err != nil {
		s.rerr = ErrDecrypt
		return s.rerr
	}
	s.pbuf = out
	s.recvN++
	s.roff += 2 + n
	return nil
}

// fill reads from the stream until rbuf holds n unread bytes.
func (s *Session) fill(n int) error {
	if s.rend-s.roff >= n {
		return nil
	}
	if len(s.rbuf)-s.roff < n {
		// Not enough room after roff: move the unread bytes to the front,
		// into a bigger buffer if the message needs one.
		buf := s.rbuf
		if len(buf) < n {
			buf = make([]byte, max(n, readBufSize))
		}
		s.rend = copy(buf, s.rbuf[s.roff:s.rend])
		s.rbuf, s.roff = buf, 0
	}
	for s.rend-s.roff < n {
		if s.frameTimeout > 0 && !s.frameArmed && (s.rend > s.roff || len(s.pbuf) > 0) {
			// Part of a frame or of a message is here and the rest must be
			// waited for: it has FrameTimeout from now. Frames that come
			// whole in one read never get here, and cost no clock reading.
			s.frameArmed = true
			s.frameDL = time.Now().Add(s.frameTimeout)
			_ = s.rdl.SetReadDeadline(s.readDeadline())
		}
		m, err := s.rw.Read(s.rbuf[s.rend:])
		s.rend += m
		if err != nil && s.rend-s.roff < n {
			return err
		}
	}
	return nil
}

// readFailed classifies a stream error met in ReadFrame. clean says the
// stream stopped between frames.
func (s *Session) readFailed(err error, clean bool) error {
	switch {
	case s.watch != nil && s.watch.fired.Load():
		// The watch stopped reception; the stream's error says nothing more.
		s.rerr = fmt.Errorf("%w: none in %v", ErrSessionIdle, s.watch.timeout)
	case s.frameArmed && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(s.frameDL):
		s.rerr = fmt.Errorf("%w: %v", ErrFrameTimeout, s.frameTimeout)
		cancelRead(s.rw, StreamCodeDone)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("channel: reading: %w", err) // not final: what was read stays buffered
	case s.closed.Load():
		s.rerr = ErrClosed
	case err == io.EOF && clean:
		s.rerr = io.EOF
	case err == io.EOF:
		s.rerr = fmt.Errorf("channel: stream ended inside a frame: %w", io.ErrUnexpectedEOF)
	default:
		s.rerr = fmt.Errorf("channel: reading: %w", err)
	}
	return s.rerr
}

// SetReadDeadline sets the underlying stream's read deadline, if it has
// one; ErrNoDeadline if not. A ReadFrame that times out can be retried.
//
// A responder's session bounds each frame with the same deadline
// (Limits.FrameTimeout), so there the earlier of the two applies, and
// SetReadDeadline must be called from the goroutine that calls ReadFrame,
// not during a call.
func (s *Session) SetReadDeadline(t time.Time) error {
	if s.rdl != nil {
		s.userDL = t
		return s.rdl.SetReadDeadline(s.readDeadline())
	}
	if d, ok := s.rw.(readDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return ErrNoDeadline
}

// readDeadline is the earlier of the caller's read deadline and, while a
// frame is in progress, the frame's.
func (s *Session) readDeadline() time.Time {
	if s.frameArmed && (s.userDL.IsZero() || s.frameDL.Before(s.userDL)) {
		return s.frameDL
	}
	return s.userDL
}

// SetWriteDeadline sets the underlying stream's write deadline, if it has
// one; ErrNoDeadline if not. A WriteFrame that times out breaks the
// session, since part of a message may have been sent.
func (s *Session) SetWriteDeadline(t time.Time) error {
	if d, ok := s.rw.(interface{ SetWriteDeadline(time.Time) error }); ok {
		return d.SetWriteDeadline(t)
	}
	return ErrNoDeadline
}

// Close ends the session. If no WriteFrame is in progress it closes the
// stream cleanly, after everything written so far; if one is (perhaps
// blocked on a peer that does not read), it aborts the stream so that the
// write returns. Either way it stops reception. Later calls to WriteFrame
// and ReadFrame fail with ErrClosed. Close may be called from any
// goroutine, more than once.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.watch != nil {
			s.watch.stop()
		}
		// quic-go forbids closing a stream concurrently with a write, so
		// a clean close needs the write lock; an abort does not.
		if s.wmu.TryLock() {
			s.werr = ErrClosed
			s.closeErr = s.rw.Close()
			s.wmu.Unlock()
			cancelRead(s.rw, StreamCodeDone)
		} else {
			abort(s.rw)
		}
	})
	return s.closeErr
}

type (
	writeCanceler interface{ CancelWrite(quic.StreamErrorCode) }
	readCanceler  interface{ CancelRead(quic.StreamErrorCode) }
)

func cancelRead(rw io.ReadWriteCloser, code quic.StreamErrorCode) {
	if rc, ok := rw.(readCanceler); ok {
		rc.CancelRead(code)
	}
}

// closeStream closes rw cleanly (a QUIC stream sends what it has, then its
// FIN) and stops reception.
func closeStream(rw io.ReadWriteCloser) {
	_ = rw.Close()
	cancelRead(rw, StreamCodeDone)
}

// abort tears rw down at once: a QUIC stream is reset both ways, anything
// else is closed. Writes and reads blocked on rw return.
func abort(rw io.ReadWriteCloser) {
	if wc, ok := rw.(writeCanceler); ok {
		wc.CancelWrite(StreamCodeAborted)
		cancelRead(rw, StreamCodeAborted)
		return
	}
	_ = rw.Close()
}
