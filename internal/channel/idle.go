package channel

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// idleTicks is how many ticks of the idle watch, each a quarter of
// Limits.SessionIdleTimeout, find no complete frame before the session is
// ended.
const idleTicks = 4

// enforce applies the responder's bounds to s: the frame timeout, through
// the stream's read deadline if it has one (a *quic.Stream, a net.Conn;
// on another stream frames are not bounded), and the idle watch. On a QUIC
// stream the session also stops reading once the sending side is closed
// (by the session's owner, or by the peer's STOP_SENDING): a session that
// cannot answer has no reason to read, and the stream is freed.
func (s *Session) enforce(lim Limits) {
	if d, ok := s.rw.(readDeadliner); ok {
		s.rdl, s.frameTimeout = d, lim.FrameTimeout
	}
	w := &idleWatch{s: s, timeout: lim.SessionIdleTimeout, period: max(lim.SessionIdleTimeout/idleTicks, 1)}
	w.mu.Lock() // the first tick waits until the timer is in place
	w.timer = time.AfterFunc(w.period, w.tick)
	w.mu.Unlock()
	s.watch = w
	if c, ok := s.rw.(interface{ Context() context.Context }); ok {
		context.AfterFunc(c.Context(), func() {
			w.stop()
			cancelRead(s.rw, StreamCodeDone)
		})
	}
}

// idleWatch ends a responder's session that completes no frame for
// Limits.SessionIdleTimeout, however alive its connection is kept. It
// costs the read path an atomic load per frame and a store once per tick:
// ReadFrame sets Session.active; a timer ticking every quarter of the
// timeout takes it back, and idleTicks ticks in a row that find it clear
// end the session by stopping reception, which makes the ReadFrame in
// progress, or the next, fail with ErrSessionIdle. Ticks are at least a
// quarter apart, so a session is ended after between 1 and 1.25 times the
// timeout without a complete frame, never sooner.
type idleWatch struct {
	s       *Session
	timeout time.Duration
	period  time.Duration
	fired   atomic.Bool // it ended the session

	mu      sync.Mutex // serialises tick and stop
	timer   *time.Timer
	idle    int // ticks in a row without a complete frame
	stopped bool
}

func (w *idleWatch) tick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if w.s.active.Swap(false) {
		w.idle = 0
	} else {
		w.idle++
	}
	if w.idle < idleTicks {
		w.timer.Reset(w.period)
		return
	}
	w.stopped = true
	w.fired.Store(true)
	stopReading(w.s.rw)
}

// stop disarms the watch; it may be called more than once, from any
// goroutine.
func (w *idleWatch) stop() {
	w.mu.Lock()
	w.stopped = true
	w.timer.Stop()
	w.mu.Unlock()
}

// stopReading ends reception on rw for good and wakes a Read blocked on
// it. A QUIC stream's reading side is cancelled (STOP_SENDING), leaving
// its sending side to the session's owner, who may still be answering;
// another stream is closed.
func stopReading(rw io.ReadWriteCloser) {
	if rc, ok := rw.(readCanceler); ok {
		rc.CancelRead(StreamCodeDone)
		return
	}
	_ = rw.Close()
}
