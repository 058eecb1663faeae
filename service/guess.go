package service

import (
	"net/netip"
	"sync"
	"time"
)

// guessLimiter bounds the failed key lookups (unknown or malformed keys)
// each source address may make: a key guesser. It is a GCRA per address:
// an address may fail burst times at once, and once more per every after
// that; an address past its allowance gets RATE_LIMITED on every activation
// until it has earned one again. IPv6 addresses count by their /64, which
// one host usually holds whole.
//
// It is on the activation path, which waits for an fsync and a signature
// anyway, so one mutex is fine; validations never touch it. At most
// maxAddrs addresses are tracked: when full, those back to a full
// allowance are forgotten first, then arbitrary ones.
type guessLimiter struct {
	burst int64
	every int64 // nanoseconds

	mu  sync.Mutex
	tat map[netip.Addr]int64 // theoretical arrival time: Unix nanoseconds
}

const maxGuessAddrs = 100_000

func newGuessLimiter(burst int, every time.Duration) *guessLimiter {
	return &guessLimiter{burst: int64(burst), every: int64(every), tat: make(map[netip.Addr]int64)}
}

// wait returns how long addr must wait before its next activation, zero
// when it may go ahead.
func (g *guessLimiter) wait(addr netip.Addr, now time.Time) time.Duration {
	if g == nil || !addr.IsValid() {
		return 0
	}
	g.mu.Lock()
	tat, ok := g.tat[addr]
	g.mu.Unlock()
	if !ok {
		return 0
	}
	// Blocked while the failures owed fill the burst.
	if d := tat - now.UnixNano() - (g.burst-1)*g.every; d > 0 {
		return time.Duration(d)
	}
	return 0
}

// fail records a failed key lookup from addr.
func (g *guessLimiter) fail(addr netip.Addr, now time.Time) {
	if g == nil || !addr.IsValid() {
		return
	}
	n := now.UnixNano()
	g.mu.Lock()
	defer g.mu.Unlock()
	tat, ok := g.tat[addr]
	if !ok && len(g.tat) >= maxGuessAddrs {
		g.evictLocked(n)
	}
	g.tat[addr] = max(tat, n) + g.every
}

func (g *guessLimiter) evictLocked(now int64) {
	for a, tat := range g.tat {
		if tat <= now {
			delete(g.tat, a)
		}
	}
	for a := range g.tat {
		if len(g.tat) < maxGuessAddrs {
			break
		}
		delete(g.tat, a)
	}
}
