package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/channel"
)

// framer is one stream of frames, each a 10-byte header (wire.Header)
// and a body: a Noise session (*channel.Session) for the gateway, a
// bareStream for the ceiling. WriteFrame is safe for concurrent use;
// ReadFrame is called by one goroutine at a time; a read deadline expiring
// in ReadFrame is not final.
type framer interface {
	WriteFrame(frame []byte) error
	ReadFrame() ([]byte, error)
	SetReadDeadline(t time.Time) error
	Close() error
}

// Sizes of the Noise transport, which bareStream copies.
const (
	tagSize  = 16                               // the ChaChaPoly tag after each message
	maxChunk = channel.MaxMessageSize - tagSize // plaintext of one message
	recordOH = 2 + tagSize                      // what each message adds: length prefix and tag
	maxFrame = channel.HeaderSize + channel.MaxFrameSize
)

// recordSize returns the bytes a frame of n bytes takes on a stream once
// the channel has split it into messages and added their lengths and tags.
func recordSize(n int) int { return n + recordOH*((n+maxChunk-1)/maxChunk) }

// bareStream carries frames over a QUIC stream exactly as a Noise session
// lays them out (a 2-byte length, up to maxChunk bytes of frame, 16 bytes
// where the tag goes) but in the clear: the same bytes on the wire without
// the cryptography. It is the ceiling's framer.
type bareStream struct {
	str *quic.Stream

	wmu  sync.Mutex
	wbuf []byte

	rbuf       []byte // rbuf[roff:rend] read, not yet consumed
	roff, rend int
	pbuf       []byte // frame bytes; pbuf[:pdone] was returned last
	pdone      int
}

func newBareStream(str *quic.Stream) *bareStream { return &bareStream{str: str} }

var errBadFrame = errors.New("bench: malformed frame")

// WriteFrame sends one frame in records of at most maxChunk bytes.
func (b *bareStream) WriteFrame(frame []byte) error {
	if len(frame) < channel.HeaderSize || len(frame) > maxFrame ||
		int(binary.BigEndian.Uint32(frame[6:]))+channel.HeaderSize != len(frame) {
		return errBadFrame
	}
	b.wmu.Lock()
	defer b.wmu.Unlock()
	for len(frame) > 0 {
		chunk := frame[:min(len(frame), maxChunk)]
		frame = frame[len(chunk):]
		need := 2 + len(chunk) + tagSize
		if cap(b.wbuf) < need {
			b.wbuf = make([]byte, 0, need)
		}
		w := binary.BigEndian.AppendUint16(b.wbuf[:0], uint16(len(chunk)+tagSize))
		w = append(w, chunk...)
		w = w[:need]
		clear(w[need-tagSize:])
		if _, err := b.str.Write(w); err != nil {
			return fmt.Errorf("bench: writing: %w", err)
		}
	}
	return nil
}

// ReadFrame returns the next frame; it is valid until the next call.
func (b *bareStream) ReadFrame() ([]byte, error) {
	if b.pdone > 0 {
		rest := copy(b.pbuf, b.pbuf[b.pdone:])
		b.pbuf, b.pdone = b.pbuf[:rest], 0
	}
	for {
		if len(b.pbuf) >= channel.HeaderSize {
			n := channel.HeaderSize + int(binary.BigEndian.Uint32(b.pbuf[6:]))
			if n > maxFrame {
				return nil, errBadFrame
			}
			if len(b.pbuf) >= n {
				b.pdone = n
				return b.pbuf[:n:n], nil
			}
		}
		if err := b.fill(2); err != nil {
			return nil, err
		}
		n := int(binary.BigEndian.Uint16(b.rbuf[b.roff:]))
		if n <= tagSize {
			return nil, errBadFrame
		}
		if err := b.fill(2 + n); err != nil {
			return nil, err
		}
		b.pbuf = append(slices.Grow(b.pbuf, n-tagSize), b.rbuf[b.roff+2:b.roff+2+n-tagSize]...)
		b.roff += 2 + n
	}
}

// fill reads until rbuf holds n unread bytes; what was read stays if the
// read deadline expires.
func (b *bareStream) fill(n int) error {
	if b.rend-b.roff >= n {
		return nil
	}
	if len(b.rbuf)-b.roff < n {
		buf := b.rbuf
		if len(buf) < n {
			buf = make([]byte, max(n, 2048))
		}
		b.rend = copy(buf, b.rbuf[b.roff:b.rend])
		b.rbuf, b.roff = buf, 0
	}
	for b.rend-b.roff < n {
		m, err := b.str.Read(b.rbuf[b.rend:])
		b.rend += m
		if err != nil && b.rend-b.roff < n {
			if err == io.EOF || errors.Is(err, os.ErrDeadlineExceeded) {
				return err
			}
			return fmt.Errorf("bench: reading: %w", err)
		}
	}
	return nil
}

func (b *bareStream) SetReadDeadline(t time.Time) error { return b.str.SetReadDeadline(t) }

// Close ends the stream both ways.
func (b *bareStream) Close() error {
	b.wmu.Lock()
	err := b.str.Close()
	b.wmu.Unlock()
	b.str.CancelRead(0)
	return err
}
