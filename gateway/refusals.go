package gateway

import (
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// The IP lock's refusals are counted, not written one by one: a shop's key
// used from outside its networks is worth an operator's attention, but
// 2,000 connections a second from one address must not become 2,000 log
// lines and 2,000 fsynced audit entries.
const (
	// refusalInterval is how often the refusals counted are summarised.
	refusalInterval = time.Minute
	// maxRefusalPairs bounds the (shop, address) pairs counted in one
	// interval; refusals from further addresses are summed per shop as
	// "other addresses", so a spoofed-source flood costs bounded memory.
	maxRefusalPairs = 1024
)

type refusalKey struct {
	shop string
	addr netip.Addr
}

type refusalCount struct {
	n        uint64 // refused since last written
	reported bool   // the first refusal of the interval was written
}

// refusalSum is one line and one audit entry: n refusals of shop from addr
// (or from other addresses).
type refusalSum struct {
	shop  string
	addr  netip.Addr
	other bool
	n     uint64
}

// refusals is the tally of one interval. add is called on the handshake
// path and takes a mutex for a map update only; the rest is for the
// goroutine that writes the tally. Safe for concurrent use.
type refusals struct {
	mu    sync.Mutex
	start time.Time
	pairs map[refusalKey]*refusalCount
	other map[string]uint64 // per shop, beyond maxRefusalPairs
	// kick asks the writer for the first refusal of a new pair; buffered,
	// so add never waits.
	kick chan struct{}
}

func newRefusals(now time.Time) *refusals {
	return &refusals{start: now, pairs: make(map[refusalKey]*refusalCount), other: make(map[string]uint64), kick: make(chan struct{}, 1)}
}

// add counts one refused connection of shop from addr.
func (r *refusals) add(shop string, addr netip.Addr) {
	k := refusalKey{shop, addr}
	fresh := false
	r.mu.Lock()
	switch c := r.pairs[k]; {
	case c != nil:
		c.n++
	case len(r.pairs) < maxRefusalPairs:
		r.pairs[k] = &refusalCount{n: 1}
		fresh = true
	default:
		r.other[shop]++
	}
	r.mu.Unlock()
	if fresh {
		select {
		case r.kick <- struct{}{}:
		default: // a nudge is already pending; it takes this pair too
		}
	}
}

// takeFirst returns the refusals of the pairs not yet written this
// interval, and marks them written: an operator hears of a new address
// at once, and of the rest at the interval's end.
func (r *refusals) takeFirst() []refusalSum {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []refusalSum
	for k, c := range r.pairs {
		if !c.reported {
			out = append(out, refusalSum{shop: k.shop, addr: k.addr, n: c.n})
			c.n, c.reported = 0, true
		}
	}
	return out
}

// takeAll ends the interval at now: it returns every count not yet
// written and how long the interval lasted, and starts a new one.
func (r *refusals) takeAll(now time.Time) ([]refusalSum, string) {
	r.mu.Lock()
	pairs, other, start := r.pairs, r.other, r.start
	r.pairs, r.other, r.start = make(map[refusalKey]*refusalCount), make(map[string]uint64), now
	r.mu.Unlock()
	var out []refusalSum
	for k, c := range pairs {
		if c.n > 0 {
			out = append(out, refusalSum{shop: k.shop, addr: k.addr, n: c.n})
		}
	}
	for shop, n := range other {
		out = append(out, refusalSum{shop: shop, other: true, n: n})
	}
	secs := max(1, int64(now.Sub(start).Round(time.Second)/time.Second))
	return out, fmt.Sprintf("%d s", secs)
}
