package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/quicinitial"
)

// Flood parameters.
const (
	// DefaultFloodRate is the Initials a second the flood scenario sends
	// unless told: issue 12's figure.
	DefaultFloodRate = 10_000
	// DefaultFloodUndecryptable is the share of them that do not decrypt.
	DefaultFloodUndecryptable = 0.2
	// DefaultFloodSources is how many loopback addresses they come from
	// (127.0.1.1 and up).
	DefaultFloodSources = 64

	// floodRSSBound is the target: the gateway's peak RSS under the flood.
	floodRSSBound = 150 << 20
	// floodKeep is the target: validations a second under the flood, as a
	// share of those without it.
	floodKeep = 0.7
	// floodMaxPackets bounds the packets built before the flood (each
	// Size bytes, so 300 MB at most); a longer flood sends them again.
	floodMaxPackets = 250_000
	// floodSenders is how many goroutines send; floodTick how often each
	// sends what is due.
	floodSenders = 2
	floodTick    = 2 * time.Millisecond
)

// runFlood: validations on established sessions as validate runs them,
// measured without a flood and then under a flood of QUIC Initial packets
// (FloodRate a second, FloodUndecryptable of them undecryptable) from
// FloodSources loopback addresses that never answer, as spoofed ones would
// not. Reported: validations a second with and without the flood, the
// gateway's RSS before, at its peak during and after the flood, and the
// Initials actually sent a second. Targets: peak RSS under 150 MB, and
// flooded validations at least 0.7 of the unflooded.
func runFlood(ctx context.Context, cfg *Config, r *Result) (err error) {
	t, err := prepare(ctx, cfg, need{keys: cfg.Licenses})
	if err != nil {
		return err
	}
	defer closeTarget(t, &err)
	dst, err := net.ResolveUDPAddr("udp", t.card.Address)
	if err != nil || !dst.IP.IsLoopback() {
		return fmt.Errorf("%w: the flood is sent to a loopback address only, not %q", ErrConfig, t.card.Address)
	}
	v, err := startValidating(ctx, t, cfg)
	if err != nil {
		return err
	}
	defer v.finish(ctx, &err)

	// The packets are built before anything is measured: building them
	// costs CPU that sending them does not.
	// The flooded phase lasts its warmup and window, and a little more
	// while its last answers come in.
	n := min(floodMaxPackets, int(cfg.FloodRate*(cfg.Warmup+cfg.Duration+time.Second).Seconds()*1.2)+1)
	fl, err := newFlood(dst, cfg.FloodSources, n, cfg.FloodUndecryptable)
	if err != nil {
		return err
	}
	defer fl.close()
	r.FloodOfferedPerSec, r.FloodSources, r.FloodUndecryptable = ptr(cfg.FloodRate), len(fl.conns), ptr(cfg.FloodUndecryptable)
	if len(fl.conns) < cfg.FloodSources {
		r.note("this system binds 127.0.0.1 only: the flood comes from one address")
	}
	switch {
	case cfg.Addr != "":
		r.FloodDefence = "unknown (a gateway started separately)"
	case cfg.GatewayNoAdmission:
		r.FloodDefence = "off (admission limits turned off)"
	default:
		r.FloodDefence = "on (the gateway's default admission limits)"
	}

	// The RSS before the flood is the highest of the unflooded phase: the
	// garbage collector's cycle moves it by as much as the live heap.
	basePeak := watchRSS(t)
	base, err := v.s.load.run(ctx, phaseConfig{name: "validate, unflooded", exchanges: v.exchanges(), warmup: cfg.Warmup, duration: cfg.Duration, progress: cfg.Progress})
	before := basePeak()
	if err != nil || base.interrupt {
		return err
	}
	r.UnfloodedRequestsPerSec = ptr(base.rps())
	_, measured := t.rss()
	if !measured {
		r.note("the gateway's memory is not measured: give its pid (--pid)")
	}

	peak := watchRSS(t)
	fl.start(cfg.FloodRate)
	pr, err := measure(ctx, cfg, t, v.s.load, v.exchanges(), r)
	sent, elapsed, reused := fl.stop()
	top := peak()
	if err != nil || r.Interrupted {
		return err
	}
	r.FloodSentPerSec = ptr(float64(sent) / elapsed.Seconds())
	if reused {
		r.note("the flood outlasted the %d packets built for it and sent some again", n)
	}
	if *r.FloodSentPerSec < 0.9*cfg.FloodRate {
		r.note("the load generator sent %.0f Initials/s of the %.0f/s asked: this machine could not send more", *r.FloodSentPerSec, cfg.FloodRate)
	}
	if pr.requests > 0 && base.requests > 0 {
		r.Ratio = ptr(pr.rps() / base.rps())
	}

	// After: the flood's handshakes have timed out, garbage collected.
	select {
	case <-time.After(channel.DefaultHandshakeTimeout + 2*time.Second):
	case <-ctx.Done():
		return nil
	}
	if t.gw != nil {
		if err := t.gw.freeMemory(); err != nil {
			return err
		}
	}
	after, ok := t.rss()
	if measured && ok {
		r.GatewayRSSBaseBytes, r.GatewayRSSPeakBytes, r.GatewayRSSAfterBytes = ptr(before), ptr(top), ptr(after)
	}
	if err := v.rel.run(ctx); err != nil {
		return err
	}
	var peakMB *float64
	if r.GatewayRSSPeakBytes != nil {
		peakMB = ptr(float64(*r.GatewayRSSPeakBytes) / (1 << 20))
	}
	note := ""
	if cfg.FloodRate != DefaultFloodRate {
		note = fmt.Sprintf("at %.0f Initials/s; the target is for %d", cfg.FloodRate, DefaultFloodRate)
	}
	r.target("gateway peak RSS under the flood (MB)", fmt.Sprintf("< %d", floodRSSBound>>20), peakMB, func(v float64) bool { return v < floodRSSBound>>20 }, note)
	r.target("validations flooded / unflooded", fmt.Sprintf(">= %.1f", floodKeep), r.Ratio, func(v float64) bool { return v >= floodKeep }, note)
	return nil
}

// watchRSS samples the gateway's RSS every 50 ms until the function it
// returns is called, which returns the highest (zero when not measured).
func watchRSS(t *target) func() int64 {
	stop := make(chan struct{})
	done := make(chan int64, 1)
	go func() {
		var top int64
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if b, ok := t.rss(); ok {
				top = max(top, b)
			}
			select {
			case <-tick.C:
			case <-stop:
				if b, ok := t.rss(); ok {
					top = max(top, b)
				}
				done <- top
				return
			}
		}
	}()
	return func() int64 { close(stop); return <-done }
}

// flood sends prebuilt Initials to dst from several loopback sockets that
// never read.
type flood struct {
	dst   *net.UDPAddr
	conns []*net.UDPConn
	pkts  []byte // n packets of quicinitial.Size bytes

	stopc   chan struct{}
	wg      sync.WaitGroup
	began   time.Time
	sent    atomic.Int64
	reused  atomic.Bool
	stopped bool
}

// newFlood binds sources sockets on 127.0.1.1 and up (one on 127.0.0.1
// where the system allows no other) and builds n Initials, each with a
// new random connection id, the share undecryptable of them protected
// with the wrong keys.
func newFlood(dst *net.UDPAddr, sources, n int, undecryptable float64) (*flood, error) {
	f := &flood{dst: dst, stopc: make(chan struct{})}
	for i := range sources {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 1+byte(i/250), 1+byte(i%250))})
		if err != nil {
			if i == 0 {
				c, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			}
			if err != nil {
				break
			}
		}
		f.conns = append(f.conns, c)
	}
	if len(f.conns) == 0 {
		return nil, fmt.Errorf("%w: no loopback socket for the flood", ErrSetup)
	}
	var scid [quicinitial.ConnIDLen]byte
	rand.Read(scid[:])
	b, err := quicinitial.NewBuilder(channel.ALPN, scid, nil)
	if err != nil {
		f.close()
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	ids := make([]byte, n*quicinitial.ConnIDLen)
	rand.Read(ids)
	f.pkts = make([]byte, n*quicinitial.Size)
	var wg sync.WaitGroup
	for w := range floodSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += floodSenders {
				var dcid [quicinitial.ConnIDLen]byte
				copy(dcid[:], ids[i*quicinitial.ConnIDLen:])
				bad := int(float64(i+1)*undecryptable) > int(float64(i)*undecryptable)
				b.Append(f.pkts[i*quicinitial.Size:i*quicinitial.Size:(i+1)*quicinitial.Size], dcid, bad)
			}
		}()
	}
	wg.Wait()
	return f, nil
}

// start sends rate packets a second, spread over the sockets, until stop.
func (f *flood) start(rate float64) {
	f.began = time.Now()
	n := len(f.pkts) / quicinitial.Size
	for w := range floodSenders {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			per := rate / floodSenders
			burst := max(1, int64(per*0.05)) // at most 50 ms behind is caught up at once
			tick := time.NewTicker(floodTick)
			defer tick.Stop()
			var mine int64
			for k := 0; ; {
				select {
				case <-f.stopc:
					return
				case <-tick.C:
				}
				due := int64(per * time.Since(f.began).Seconds())
				if due-mine > burst {
					mine = due - burst
				}
				for ; mine < due; mine++ {
					i := w + k*floodSenders
					if i >= n {
						k, i = 0, w
						f.reused.Store(true)
					}
					k++
					c := f.conns[(i/floodSenders)%len(f.conns)]
					if _, err := c.WriteToUDP(f.pkts[i*quicinitial.Size:(i+1)*quicinitial.Size], f.dst); err == nil {
						f.sent.Add(1)
					}
				}
			}
		}()
	}
}

// stop ends the flood and returns the packets sent, over how long, and
// whether some were sent twice.
func (f *flood) stop() (int64, time.Duration, bool) {
	if !f.stopped {
		f.stopped = true
		close(f.stopc)
		f.wg.Wait()
	}
	return f.sent.Load(), time.Since(f.began), f.reused.Load()
}

func (f *flood) close() {
	if !f.stopped && !f.began.IsZero() {
		f.stop()
	}
	for _, c := range f.conns {
		c.Close()
	}
	f.pkts = nil
}
