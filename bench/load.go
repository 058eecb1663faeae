package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/tollgate/tollgate/wire"
)

// What an exchange asks the load to do with a slot.
type reqKind uint8

const (
	reqFrame reqKind = iota // send the frame
	reqSide                 // run exchange.side with the tag, off the stream
	reqNone                 // nothing left to send: the exchange is exhausted
)

// exchange is a scenario's side of one stream: it writes each request and
// judges each answer. The load calls request and answer with the stream's
// lock held, so an exchange needs no lock for state they share; side runs
// without it, concurrently with them, and may use only what they never
// change.
type exchange interface {
	// ops names the operations answer and side report, by index.
	ops() []string
	// request appends the next request, whose request id is id, to b.
	request(b []byte, id uint32) (frame []byte, tag uint32, kind reqKind)
	// answer judges the answer to the request id that request tagged tag:
	// the operation it was and "" or the name of what went wrong (a
	// wire.Status name for a refusal).
	answer(id, tag uint32, typ wire.Type, body []byte) (op int, status string)
	// side runs a request that is not a frame on the stream (a whole new
	// connection, say) and judges it.
	side(ctx context.Context, tag uint32) (op int, status string)
}

// slotBits bounds requests in flight per stream: a request id is a
// sequence number above the slot index, so an answer finds its slot
// without a map.
const (
	slotBits = 10
	maxSlots = 1 << slotBits
	slotMask = maxSlots - 1
)

// drainTimeout is how long a phase waits, once it stops sending, for the
// answers still due.
const drainTimeout = 2 * time.Minute

// slowWindowMax bounds how long a measured window runs on past its
// duration while nothing has been answered yet but requests are in flight:
// on a loaded machine a window shorter than one handshake measures nothing
// though the gateway works. Slow is not broken; only a hang gets this far.
const slowWindowMax = 5 * time.Minute

// slot is one request in flight on a stream. Its fields are under the
// stream's lock.
type slot struct {
	id     uint32 // request id in flight; 0 when free
	due    int64  // when the request was due, ns since the load's epoch
	tag    uint32
	reqLen int  // frame bytes sent
	side   bool // a side operation: it completes on its own goroutine
}

// stream is one framer under load (or none, for a stream of side
// operations only) with its slots.
type stream struct {
	f    framer // nil: side operations only
	free chan int

	mu    sync.Mutex // guards everything below, and calls into ex
	slots []slot
	seq   uint32
	ex    exchange
	rec   *recorder
	dead  error // set when the framer failed
	empty bool  // the exchange is exhausted
}

func newStream(f framer, inflight int) *stream {
	s := &stream{f: f, free: make(chan int, inflight), slots: make([]slot, inflight)}
	for i := range inflight {
		s.free <- i
	}
	return s
}

// load drives a set of streams through phases.
type load struct {
	streams []*stream
	epoch   time.Time
}

func (l *load) now() int64 { return int64(time.Since(l.epoch)) }

// phaseConfig is one phase of a load.
type phaseConfig struct {
	name      string
	exchanges []exchange // one per stream
	// rate is the offered rate, requests per second over all streams, for
	// an open loop; zero means a closed loop.
	rate float64
	// warmup is run before the measured window, which lasts duration.
	// A zero duration means until every exchange is exhausted (bounded by
	// maxWait), all of it measured.
	warmup, duration time.Duration
	maxWait          time.Duration
	// onStart and onEnd run as the measured window opens and closes.
	onStart, onEnd func()
	progress       io.Writer // a line about once a second; nil for none
}

// phase is the state a phase's streams share.
type phase struct {
	l         *load
	open      bool
	ctx       context.Context // side operations; cancelled when the phase is over
	measuring atomic.Bool
	stopping  atomic.Bool
	ending    atomic.Bool
	stop      chan struct{}

	outstanding atomic.Int64
	completed   atomic.Int64 // answers in the measured window
	failed      atomic.Int64 // errors in the measured window
	exhausted   atomic.Int64 // streams whose exchange is exhausted
	broken      atomic.Pointer[error]
	sides       sync.WaitGroup
}

// phaseResult is what a phase measured in its window.
type phaseResult struct {
	elapsed   time.Duration
	requests  int64
	errors    map[string]int64
	hist      *hdrhistogram.Histogram // every answer, µs
	ops       []opResult
	series    []float64               // answers per second, second by second
	reqBytes  int64                   // frame bytes of the requests answered
	respBytes int64                   // frame bytes of their answers
	lag       *hdrhistogram.Histogram // open loop: how late requests went, µs
	exhausted bool                    // ended early: an exchange ran out of work
	interrupt bool                    // ended early: the context was cancelled
	extended  bool                    // the window ran past its duration until the first answer
}

type opResult struct {
	name     string
	requests int64
	hist     *hdrhistogram.Histogram
}

func (r *phaseResult) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests) / r.elapsed.Seconds()
}

// meanSizes returns the mean frame sizes of requests and answers.
func (r *phaseResult) meanSizes() (req, resp int) {
	if r.requests == 0 {
		return 0, 0
	}
	return int(r.reqBytes / r.requests), int(r.respBytes / r.requests)
}

// recorder collects one stream's measurements; under the stream's lock.
type recorder struct {
	lag       *hdrhistogram.Histogram // open loop: how late requests were sent, µs
	hists     []*hdrhistogram.Histogram
	counts    []int64
	errs      map[string]int64
	reqBytes  int64
	respBytes int64
}

// Histogram range: 1 µs to 100 s, three significant digits.
const (
	histMin  = 1
	histMax  = 100_000_000
	histSigs = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histSigs) }

func newRecorder(ops int) *recorder {
	r := &recorder{lag: newHist(), hists: make([]*hdrhistogram.Histogram, ops), counts: make([]int64, ops), errs: map[string]int64{}}
	for i := range r.hists {
		r.hists[i] = newHist()
	}
	return r
}

// run runs one phase and returns what it measured. The streams must be
// idle: no reader running, every slot free.
func (l *load) run(ctx context.Context, pc phaseConfig) (*phaseResult, error) {
	if len(pc.exchanges) != len(l.streams) {
		return nil, fmt.Errorf("%w: %d exchanges for %d streams", ErrConfig, len(pc.exchanges), len(l.streams))
	}
	sctx, cancelSides := context.WithCancel(ctx)
	defer cancelSides()
	ph := &phase{l: l, open: pc.rate > 0, ctx: sctx, stop: make(chan struct{})}
	ops := len(pc.exchanges[0].ops())
	for i, s := range l.streams {
		s.mu.Lock()
		if s.dead != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: %w", ErrBroken, s.dead)
		}
		s.ex, s.rec, s.empty = pc.exchanges[i], newRecorder(ops), false
		s.mu.Unlock()
	}
	var readers sync.WaitGroup
	for _, s := range l.streams {
		if s.f != nil {
			readers.Add(1)
			go func() {
				defer readers.Done()
				s.readLoop(ph)
			}()
		}
	}
	if pc.duration == 0 {
		ph.measuring.Store(true)
	}
	var senders sync.WaitGroup
	if ph.open {
		// Each stream gets an equal share of the rate, its schedule
		// offset so that the streams' sends interleave.
		interval := time.Duration(float64(len(l.streams)) / pc.rate * float64(time.Second))
		start := l.now()
		for i, s := range l.streams {
			senders.Add(1)
			offset := int64(interval) * int64(i) / int64(len(l.streams))
			go func() {
				defer senders.Done()
				s.sendLoop(ph, start+offset, int64(interval))
			}()
		}
	} else {
		b := make([]byte, 0, 512)
		for _, s := range l.streams {
			for range len(s.slots) {
				idx := <-s.free
				b = s.issue(ph, idx, l.now(), b)
			}
		}
	}

	res := &phaseResult{}
	err := l.watch(ctx, ph, pc, res)
	if pc.progress != nil {
		fmt.Fprintf(pc.progress, "%-22s done    %5.1fs window  %8d answered  %9.0f req/s  %d errors\n",
			pc.name, res.elapsed.Seconds(), ph.completed.Load(), float64(ph.completed.Load())/max(res.elapsed.Seconds(), 1e-9), ph.failed.Load())
	}

	// Stop sending, wait for the answers due, then stop the readers.
	ph.stopping.Store(true)
	close(ph.stop)
	senders.Wait()
	deadline := time.Now().Add(drainTimeout)
	for ph.outstanding.Load() > 0 && time.Now().Before(deadline) && ph.broken.Load() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	left := ph.outstanding.Load()
	ph.ending.Store(true)
	cancelSides()
	for _, s := range l.streams {
		if s.f != nil {
			s.f.SetReadDeadline(time.Now())
		}
	}
	readers.Wait()
	ph.sides.Wait()
	for _, s := range l.streams {
		if s.f != nil {
			s.f.SetReadDeadline(time.Time{})
		}
	}
	if b := ph.broken.Load(); b != nil && err == nil {
		err = fmt.Errorf("%w: %w", ErrBroken, *b)
	}
	if left > 0 && err == nil {
		err = fmt.Errorf("%w: %d requests unanswered %v after the phase ended", ErrBroken, left, drainTimeout)
		for _, s := range l.streams {
			s.mu.Lock()
			if s.dead == nil {
				s.dead = err
			}
			s.mu.Unlock()
		}
	}
	l.collect(res, pc.exchanges[0].ops())
	return res, err
}

// watch runs the phase's clock: warmup, measured window, progress lines.
func (l *load) watch(ctx context.Context, ph *phase, pc phaseConfig, res *phaseResult) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	began := time.Now()
	var t0 time.Time
	measuring := pc.duration == 0
	if measuring {
		t0 = began
		if pc.onStart != nil {
			pc.onStart()
		}
	}
	lastProgress := began
	var lastCount int64
	lastSample := t0
	finish := func(now time.Time) {
		ph.measuring.Store(false)
		res.elapsed = now.Sub(t0)
		if pc.onEnd != nil {
			pc.onEnd()
		}
		if d := now.Sub(lastSample); d > 200*time.Millisecond && lastSample != (time.Time{}) {
			res.series = append(res.series, float64(ph.completed.Load()-lastCount)/d.Seconds())
		}
	}
	maxWait := pc.maxWait
	if maxWait == 0 {
		maxWait = 10 * time.Minute
	}
	for {
		select {
		case <-ctx.Done():
			res.interrupt = true
			if measuring {
				finish(time.Now())
			}
			return nil
		case <-tick.C:
		}
		now := time.Now()
		if b := ph.broken.Load(); b != nil {
			if measuring {
				finish(now)
			}
			return nil
		}
		if !measuring && now.Sub(began) >= pc.warmup {
			ph.measuring.Store(true)
			measuring, t0, lastSample = true, now, now
			if pc.onStart != nil {
				pc.onStart()
			}
		}
		if measuring && now.Sub(lastSample) >= time.Second {
			c := ph.completed.Load()
			res.series = append(res.series, float64(c-lastCount)/now.Sub(lastSample).Seconds())
			lastCount, lastSample = c, now
		}
		allEmpty := ph.exhausted.Load() == int64(len(l.streams)) && ph.outstanding.Load() == 0
		windowDone := pc.duration > 0 && measuring && now.Sub(t0) >= pc.duration
		if windowDone && ph.completed.Load() == 0 && ph.outstanding.Load() > 0 && now.Sub(t0) < pc.duration+slowWindowMax {
			// Nothing answered yet, but requests are in flight: run on
			// until the first answer.
			windowDone, res.extended = false, true
		}
		switch {
		case windowDone:
			finish(now)
			return nil
		case allEmpty:
			res.exhausted = pc.duration > 0
			if measuring {
				finish(now)
			}
			return nil
		case pc.duration == 0 && now.Sub(began) > maxWait:
			finish(now)
			return fmt.Errorf("%w: %s not done after %v", ErrBroken, pc.name, maxWait)
		}
		if pc.progress != nil && now.Sub(lastProgress) >= time.Second {
			lastProgress = now
			l.progressLine(pc, ph, now.Sub(began), measuring, now.Sub(t0))
		}
	}
}

func (l *load) progressLine(pc phaseConfig, ph *phase, since time.Duration, measuring bool, inWindow time.Duration) {
	stage := "warmup"
	rate := ""
	if pc.duration == 0 {
		stage = "running"
	}
	if measuring {
		if pc.duration > 0 {
			stage = "measure"
		}
		if s := inWindow.Seconds(); s > 0 {
			rate = fmt.Sprintf("  %9.0f req/s", float64(ph.completed.Load())/s)
		}
	}
	total := ""
	if pc.duration > 0 {
		total = fmt.Sprintf("/%v", (pc.warmup + pc.duration).Round(time.Second))
	}
	fmt.Fprintf(pc.progress, "%-22s %-7s %5.0fs%s  %8d answered%s  %d errors  %d in flight\n",
		pc.name, stage, since.Seconds(), total, ph.completed.Load(), rate, ph.failed.Load(), ph.outstanding.Load())
}

// collect merges the streams' recorders into res.
func (l *load) collect(res *phaseResult, names []string) {
	res.hist = newHist()
	res.lag = newHist()
	res.errors = map[string]int64{}
	res.ops = make([]opResult, len(names))
	for i, n := range names {
		res.ops[i] = opResult{name: n, hist: newHist()}
	}
	for _, s := range l.streams {
		s.mu.Lock()
		r := s.rec
		s.rec, s.ex = nil, nil
		s.mu.Unlock()
		if r == nil {
			continue
		}
		for i, h := range r.hists {
			res.hist.Merge(h)
			res.ops[i].hist.Merge(h)
			res.ops[i].requests += r.counts[i]
			res.requests += r.counts[i]
		}
		for k, v := range r.errs {
			res.errors[k] += v
		}
		res.lag.Merge(r.lag)
		res.reqBytes += r.reqBytes
		res.respBytes += r.respBytes
	}
}

// issue sends slot idx's next request, due at due, and returns b for
// reuse. The slot must be free and owned by the caller.
func (s *stream) issue(ph *phase, idx int, due int64, b []byte) []byte {
	s.mu.Lock()
	frame, tag, kind := s.prepareLocked(ph, idx, due, b)
	s.mu.Unlock()
	return s.send(ph, idx, frame, tag, kind)
}

// prepareLocked asks the exchange for slot idx's next request and fills
// in the slot; on reqNone the slot goes back to the free list.
func (s *stream) prepareLocked(ph *phase, idx int, due int64, b []byte) ([]byte, uint32, reqKind) {
	if s.dead != nil || s.empty {
		s.free <- idx
		return b, 0, reqNone
	}
	s.seq++
	if s.seq >= 1<<(32-slotBits) {
		s.seq = 1
	}
	id := s.seq<<slotBits | uint32(idx)
	frame, tag, kind := s.ex.request(b[:0], id)
	if kind == reqNone {
		if !s.empty {
			s.empty = true
			ph.exhausted.Add(1)
		}
		s.free <- idx
		return frame, 0, reqNone
	}
	s.slots[idx] = slot{id: id, due: due, tag: tag, reqLen: len(frame), side: kind == reqSide}
	ph.outstanding.Add(1)
	return frame, tag, kind
}

// send carries out what prepareLocked decided, outside the lock.
func (s *stream) send(ph *phase, idx int, frame []byte, tag uint32, kind reqKind) []byte {
	switch kind {
	case reqFrame:
		if err := s.f.WriteFrame(frame); err != nil {
			s.fail(ph, err)
		}
	case reqSide:
		ph.sides.Add(1)
		go s.runSide(ph, idx, tag)
	}
	return frame
}

// complete records the answer to slot idx and, in a closed loop that is
// still running, prepares the slot's next request; the caller sends it.
func (s *stream) completeLocked(ph *phase, idx int, now int64, op int, status string, respLen int, b []byte) ([]byte, uint32, reqKind) {
	sl := &s.slots[idx]
	if ph.measuring.Load() {
		r := s.rec
		lat := (now - sl.due) / 1000
		r.hists[op].RecordValue(max(lat, 0))
		r.counts[op]++
		r.reqBytes += int64(sl.reqLen)
		r.respBytes += int64(respLen)
		if status != "" {
			r.errs[status]++
			ph.failed.Add(1)
		}
		ph.completed.Add(1)
	}
	sl.id = 0
	ph.outstanding.Add(-1)
	if ph.open || ph.stopping.Load() {
		s.free <- idx
		return b, 0, reqNone
	}
	return s.prepareLocked(ph, idx, now, b)
}

// readLoop reads answers until the phase ends or the framer fails. In a
// closed loop it sends each slot's next request itself, so a stream in a
// steady state is one goroutine.
func (s *stream) readLoop(ph *phase) {
	b := make([]byte, 0, 512)
	for {
		frame, err := s.f.ReadFrame()
		if err != nil {
			if ph.ending.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
			s.fail(ph, err)
			return
		}
		now := ph.l.now()
		if len(frame) < wire.HeaderSize || frame[0] != wire.ProtocolVersion {
			s.fail(ph, errBadFrame)
			return
		}
		id := binary.BigEndian.Uint32(frame[2:6])
		idx := int(id & slotMask)
		s.mu.Lock()
		if idx >= len(s.slots) || s.slots[idx].id != id || id == 0 {
			s.mu.Unlock()
			s.fail(ph, fmt.Errorf("bench: an answer to request %d, which is not in flight", id))
			return
		}
		op, status := s.ex.answer(id, s.slots[idx].tag, wire.Type(frame[1]), frame[wire.HeaderSize:])
		next, tag, kind := s.completeLocked(ph, idx, now, op, status, len(frame), b)
		s.mu.Unlock()
		b = s.send(ph, idx, next, tag, kind)
	}
}

// sendLoop is an open loop's sender: request k is due at start+k*interval
// whether or not earlier ones were answered, and its latency counts from
// then, so a slow answer cannot delay the schedule that measures it.
func (s *stream) sendLoop(ph *phase, next, interval int64) {
	b := make([]byte, 0, 512)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for !ph.stopping.Load() {
		if d := next - ph.l.now(); d > 0 {
			t.Reset(time.Duration(d))
			select {
			case <-t.C:
			case <-ph.stop:
				return
			}
		}
		var idx int
		select {
		case idx = <-s.free:
		case <-ph.stop:
			return
		}
		now := ph.l.now()
		s.mu.Lock()
		if s.empty || s.dead != nil {
			s.free <- idx
			s.mu.Unlock()
			return
		}
		if ph.measuring.Load() {
			s.rec.lag.RecordValue(max(now-next, 0) / 1000)
		}
		frame, tag, kind := s.prepareLocked(ph, idx, next, b)
		s.mu.Unlock()
		b = s.send(ph, idx, frame, tag, kind)
		next += interval
	}
}

func (s *stream) runSide(ph *phase, idx int, tag uint32) {
	defer ph.sides.Done()
	s.mu.Lock()
	ex := s.ex
	s.mu.Unlock()
	op, status := ex.side(ph.ctx, tag)
	now := ph.l.now()
	s.mu.Lock()
	next, tag, kind := s.completeLocked(ph, idx, now, op, status, 0, nil)
	s.mu.Unlock()
	s.send(ph, idx, next, tag, kind)
}

// fail marks the stream dead after its framer failed: the requests it had
// in flight are counted as CONNECTION errors and the phase is broken,
// unless the phase was over already.
func (s *stream) fail(ph *phase, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead != nil {
		return
	}
	s.dead = err
	if ph.ending.Load() {
		return
	}
	lost := int64(0)
	for i := range s.slots {
		if s.slots[i].id != 0 && !s.slots[i].side {
			s.slots[i].id = 0
			lost++
			s.free <- i
		}
	}
	if lost > 0 {
		s.rec.errs["CONNECTION"] += lost
		ph.failed.Add(lost)
		ph.outstanding.Add(-lost)
	}
	ph.broken.CompareAndSwap(nil, &err)
}
