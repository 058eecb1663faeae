package channel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/flynn/noise"
	"github.com/tollgate/tollgate/internal/hang"
)

// writePlain sends plaintext as one transport message, whatever it holds:
// tests use it to split and merge frames in ways WriteFrame never does.
func (s *Session) writePlain(tb testing.TB, plain []byte) {
	tb.Helper()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	b := binary.BigEndian.AppendUint16(nil, uint16(len(plain)+tagSize))
	binary.LittleEndian.PutUint64(s.wnonce[4:], s.sendN)
	b = s.send.Seal(b, s.wnonce[:], plain, nil)
	s.sendN++
	if _, err := s.rw.Write(b); err != nil {
		tb.Fatalf("writePlain: %v", err)
	}
}

// TestFrameSizes sends frames around the Noise message boundary and up to
// the largest allowed, each way.
func TestFrameSizes(t *testing.T) {
	t.Parallel()
	cli, srv, _, _ := memPair(t, Limits{}, Limits{})
	one := maxChunk - HeaderSize // the largest body that fits one message
	for _, n := range []int{0, 1, 86, one - 1, one, one + 1, 2*maxChunk - HeaderSize, 2*maxChunk - HeaderSize + 1, 300_000, MaxFrameSize} {
		for dir, ends := range [][2]*Session{{cli, srv}, {srv, cli}} {
			want := frame(uint32(n), pattern(n, n))
			if err := ends[0].WriteFrame(want); err != nil {
				t.Fatalf("body %d, direction %d: WriteFrame: %v", n, dir, err)
			}
			got, err := ends[1].ReadFrame()
			if err != nil {
				t.Fatalf("body %d, direction %d: ReadFrame: %v", n, dir, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("body %d, direction %d: frame differs at byte %d", n, dir, firstDiff(got, want))
			}
		}
	}
}

// TestMessagesPerFrame checks how many Noise messages a frame takes.
func TestMessagesPerFrame(t *testing.T) {
	t.Parallel()
	cli, _, up, _ := memPair(t, Limits{}, Limits{})
	for _, tc := range []struct{ body, msgs int }{
		{0, 1}, {maxChunk - HeaderSize, 1}, {maxChunk - HeaderSize + 1, 2}, {300_000, 5},
	} {
		before := up.writes
		if err := cli.WriteFrame(frame(0, make([]byte, tc.body))); err != nil {
			t.Fatal(err)
		}
		if got := up.writes - before; got != tc.msgs {
			t.Errorf("body %d took %d messages, want %d", tc.body, got, tc.msgs)
		}
	}
}

// TestReassembly feeds the reader frames cut at every kind of place: a
// header split across messages, two frames in one message, a frame ending
// mid-message.
func TestReassembly(t *testing.T) {
	t.Parallel()
	cli, srv, _, _ := memPair(t, Limits{}, Limits{})
	f1, f2, f3 := frame(1, pattern(1, 40)), frame(2, nil), frame(3, pattern(3, 70_000))
	stream := append(append(append([]byte{}, f1...), f2...), f3...)
	cuts := []int{3, 9, len(f1) + 2, len(f1) + len(f2) + 5, len(f1) + len(f2) + 60_000, len(stream)}
	prev := 0
	for _, c := range cuts {
		cli.writePlain(t, stream[prev:c])
		prev = c
	}
	for _, want := range [][]byte{f1, f2, f3} {
		got, err := srv.ReadFrame()
		if err != nil {
			t.Fatalf("ReadFrame: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("reassembled frame differs at byte %d", firstDiff(got, want))
		}
	}
}

func TestTampered(t *testing.T) {
	t.Parallel()
	for _, where := range []struct {
		name string
		at   int // offset into the message, after the 2-byte length
	}{{"header", 2 + 3}, {"body", 2 + 50}, {"tag", 2 + HeaderSize + 60 + 5}} {
		cli, srv, up, _ := memPair(t, Limits{}, Limits{})
		if err := cli.WriteFrame(frame(1, pattern(1, 60))); err != nil {
			t.Fatal(err)
		}
		up.tamper(func(b []byte) { b[where.at] ^= 0x40 })
		for range 2 { // and again: the error is final
			if _, err := srv.ReadFrame(); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("%s tampered: %v, want ErrDecrypt", where.name, err)
			}
		}
	}

	// A message length too short to hold a tag and a byte.
	cli, srv, up, _ := memPair(t, Limits{}, Limits{})
	if err := cli.WriteFrame(frame(1, nil)); err != nil {
		t.Fatal(err)
	}
	up.tamper(func(b []byte) { b[0], b[1] = 0, tagSize })
	if _, err := srv.ReadFrame(); !errors.Is(err, ErrRecord) {
		t.Fatalf("short message: %v, want ErrRecord", err)
	}

	// A message replayed: same ciphertext, next nonce.
	cli, srv, up, _ = memPair(t, Limits{}, Limits{})
	if err := cli.WriteFrame(frame(1, nil)); err != nil {
		t.Fatal(err)
	}
	var msg []byte
	up.tamper(func(b []byte) { msg = append(msg, b...) })
	up.write(msg)
	if _, err := srv.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.ReadFrame(); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("replayed message: %v, want ErrDecrypt", err)
	}
}

func TestFrameTooLarge(t *testing.T) {
	t.Parallel()
	// Writing: refused before anything is sent; the session goes on.
	cli, srv, up, _ := memPair(t, Limits{MaxFrameSize: 1000}, Limits{})
	if err := cli.WriteFrame(frame(1, make([]byte, 1001))); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("WriteFrame over the limit: %v, want ErrFrameTooLarge", err)
	}
	if up.writes != 1 { // message 1 of the handshake
		t.Fatalf("a refused frame was written")
	}
	if err := cli.WriteFrame(frame(2, make([]byte, 1000))); err != nil {
		t.Fatalf("WriteFrame at the limit after a refusal: %v", err)
	}
	if _, err := srv.ReadFrame(); err != nil {
		t.Fatal(err)
	}

	// Reading: a header declaring a body over the limit is refused as
	// soon as it arrives; the body is never sent, so a reader that waited
	// for it would block.
	cli, srv, _, _ = memPair(t, Limits{}, Limits{MaxFrameSize: 4096})
	cli.writePlain(t, frame(3, nil)[:6])
	cli.writePlain(t, []byte{0x7f, 0xff, 0xff, 0xff})
	done := make(chan error, 1)
	go func() { _, err := srv.ReadFrame(); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("ReadFrame of an oversized header: %v, want ErrFrameTooLarge", err)
		}
	case <-time.After(hang.Timeout(t)):
		t.Fatal("ReadFrame waited for the body of an oversized frame")
	}

	// The sender's limit is higher than the receiver's.
	cli, srv, _, _ = memPair(t, Limits{}, Limits{MaxFrameSize: 4096})
	if err := cli.WriteFrame(frame(4, make([]byte, 4097))); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.ReadFrame(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("ReadFrame over the receiver's limit: %v, want ErrFrameTooLarge", err)
	}
}

func TestBadFrame(t *testing.T) {
	t.Parallel()
	cli, srv, _, _ := memPair(t, Limits{}, Limits{})
	long := frame(1, make([]byte, 10))
	for _, f := range [][]byte{nil, make([]byte, HeaderSize-1), long[:HeaderSize+9], append(long, 0)} {
		if err := cli.WriteFrame(f); !errors.Is(err, ErrBadFrame) {
			t.Errorf("WriteFrame of a %d-byte malformed frame: %v, want ErrBadFrame", len(f), err)
		}
	}
	if err := cli.WriteFrame(long); err != nil {
		t.Fatalf("WriteFrame after ErrBadFrame: %v", err)
	}
	if got, err := srv.ReadFrame(); err != nil || !bytes.Equal(got, long) {
		t.Fatalf("ReadFrame: %v", err)
	}
}

func TestNonceCeiling(t *testing.T) {
	t.Parallel()
	cli, srv, _, _ := memPair(t, Limits{MaxMessages: 3}, Limits{MaxMessages: 3})
	for i := range 2 {
		if err := cli.WriteFrame(frame(uint32(i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	// One message left: a frame that needs two is refused whole.
	if err := cli.WriteFrame(frame(9, make([]byte, maxChunk))); !errors.Is(err, ErrNonceCeiling) {
		t.Fatalf("two-message frame with one nonce left: %v, want ErrNonceCeiling", err)
	}
	// The error is final: even a frame that would fit is refused.
	if err := cli.WriteFrame(frame(3, nil)); !errors.Is(err, ErrNonceCeiling) {
		t.Fatalf("WriteFrame after the ceiling: %v, want ErrNonceCeiling", err)
	}
	for i := range 2 {
		if _, err := srv.ReadFrame(); err != nil {
			t.Fatalf("ReadFrame %d: %v", i, err)
		}
	}

	// The receiver counts too, against a sender with a higher ceiling.
	cli, srv, _, _ = memPair(t, Limits{}, Limits{MaxMessages: 3})
	for i := range 4 {
		if err := cli.WriteFrame(frame(uint32(i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if _, err := srv.ReadFrame(); err != nil {
			t.Fatalf("ReadFrame %d: %v", i, err)
		}
	}
	if _, err := srv.ReadFrame(); !errors.Is(err, ErrNonceCeiling) {
		t.Fatalf("fourth ReadFrame: %v, want ErrNonceCeiling", err)
	}
}

func TestEOF(t *testing.T) {
	t.Parallel()
	cli, srv, _, _ := memPair(t, Limits{}, Limits{})
	if err := cli.WriteFrame(frame(1, nil)); err != nil {
		t.Fatal(err)
	}
	cli.Close()
	if _, err := srv.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := srv.ReadFrame(); err != io.EOF {
			t.Fatalf("ReadFrame at the end: %v, want io.EOF", err)
		}
	}
	if err := cli.WriteFrame(frame(2, nil)); !errors.Is(err, ErrClosed) {
		t.Fatalf("WriteFrame after Close: %v, want ErrClosed", err)
	}

	// The stream ends inside a frame: its header came, its body did not.
	cli, srv, _, _ = memPair(t, Limits{}, Limits{})
	cli.writePlain(t, frame(1, make([]byte, 5))[:HeaderSize+2])
	cli.Close()
	if _, err := srv.ReadFrame(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadFrame of a cut frame: %v, want io.ErrUnexpectedEOF", err)
	}

	// The stream ends inside a message.
	cli, srv, up, _ := memPair(t, Limits{}, Limits{})
	up.write([]byte{0, 40, 1, 2, 3})
	cli.Close()
	if _, err := srv.ReadFrame(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadFrame of a cut message: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestConcurrentRead(t *testing.T) {
	t.Parallel()
	cli, srv, _, _ := memPair(t, Limits{}, Limits{})
	done := make(chan error, 1)
	go func() { _, err := srv.ReadFrame(); done <- err }()
	for deadline := time.Now().Add(hang.Timeout(t)); !srv.reading.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first ReadFrame never started")
		}
	}
	if _, err := srv.ReadFrame(); !errors.Is(err, ErrConcurrentRead) {
		t.Fatalf("second concurrent ReadFrame: %v, want ErrConcurrentRead", err)
	}
	if err := cli.WriteFrame(frame(1, nil)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("first ReadFrame: %v", err)
	}
}

// TestReadDeadline: a read that times out, even in the middle of a
// message, can be retried.
func TestReadDeadline(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	cli, srv := handshakePair(t, a, b, Limits{}, Limits{})
	defer cli.Close()
	defer srv.Close()
	want := frame(5, pattern(5, 100))
	var msg []byte
	{ // seal a message by hand so it can be delivered in two parts
		msg = binary.BigEndian.AppendUint16(nil, uint16(len(want)+tagSize))
		binary.LittleEndian.PutUint64(cli.wnonce[4:], cli.sendN)
		msg = cli.send.Seal(msg, cli.wnonce[:], want, nil)
		cli.sendN++
	}
	go func() { _, _ = a.Write(msg[:30]) }()
	if err := srv.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.ReadFrame(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadFrame past its deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	if err := srv.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = a.Write(msg[30:]) }()
	got, err := srv.ReadFrame()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadFrame after a timeout: %v", err)
	}
}

// TestCloseUnblocksWriter: Close during a WriteFrame blocked on a peer that
// does not read makes the write return.
func TestCloseUnblocksWriter(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	cli, srv := handshakePair(t, a, b, Limits{}, Limits{})
	defer srv.Close()
	done := make(chan error, 1)
	go func() { done <- cli.WriteFrame(frame(1, nil)) }() // net.Pipe: blocks until read
	for deadline := time.Now().Add(hang.Timeout(t)); cli.wmu.TryLock(); time.Sleep(time.Millisecond) {
		cli.wmu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("WriteFrame never started")
		}
	}
	cli.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked WriteFrame after Close: %v, want ErrClosed", err)
		}
	case <-time.After(hang.Timeout(t)):
		t.Fatal("Close did not unblock WriteFrame")
	}
}

// TestNoiseCompatible checks the session's transport against flynn/noise's
// CipherState with the same key: same nonces, same encryption.
func TestNoiseCompatible(t *testing.T) {
	t.Parallel()
	suite := noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2s)
	k1, k2 := [32]byte{1, 2, 3}, [32]byte{4, 5, 6}
	a, b := memConnPair()
	s, err := newSession(a, PatternIK, PublicKey{}, Limits{}.WithDefaults(),
		noise.UnsafeNewCipherState(suite, k1, 0), noise.UnsafeNewCipherState(suite, k2, 0))
	if err != nil {
		t.Fatal(err)
	}
	peerRecv := noise.UnsafeNewCipherState(suite, k1, 0)
	peerSend := noise.UnsafeNewCipherState(suite, k2, 0)
	for i := range 3 {
		want := frame(uint32(i), pattern(i, 20))
		if err := s.WriteFrame(want); err != nil {
			t.Fatal(err)
		}
		var hdr [2]byte
		if _, err := io.ReadFull(b, hdr[:]); err != nil {
			t.Fatal(err)
		}
		ct := make([]byte, binary.BigEndian.Uint16(hdr[:]))
		if _, err := io.ReadFull(b, ct); err != nil {
			t.Fatal(err)
		}
		got, err := peerRecv.Decrypt(nil, nil, ct)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: flynn/noise cannot read it: %v", i, err)
		}
		ct, err = peerSend.Encrypt(binary.BigEndian.AppendUint16(nil, uint16(len(want)+tagSize)), nil, want)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(ct)
		if got, err := s.ReadFrame(); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: cannot read flynn/noise's: %v", i, err)
		}
	}
}

// TestAllocs proves the steady state allocates nothing: WriteFrame and
// ReadFrame of a 96-byte frame, and of a frame spanning two messages.
func TestAllocs(t *testing.T) {
	for _, body := range []int{86, 70_000} {
		cli, srv, _, _ := memPair(t, Limits{}, Limits{})
		f := frame(1, pattern(1, body))
		var err error
		allocs := testing.AllocsPerRun(200, func() {
			if e := cli.WriteFrame(f); e != nil {
				err = e
			}
			if _, e := srv.ReadFrame(); e != nil {
				err = e
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if allocs != 0 {
			t.Errorf("body %d: %v allocations per WriteFrame+ReadFrame, want 0", body, allocs)
		}
	}
}

// BenchmarkSessionRoundTrip writes and reads a 96-byte frame in memory.
func BenchmarkSessionRoundTrip(b *testing.B) {
	cli, srv, _, _ := memPair(b, Limits{}, Limits{})
	f := frame(1, pattern(1, 86))
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		if err := cli.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
		if _, err := srv.ReadFrame(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandshakeIK runs both sides of an IK handshake in memory.
func BenchmarkHandshakeIK(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		a, c := memConnPair()
		handshakePair(b, a, c, Limits{}, Limits{})
	}
}
