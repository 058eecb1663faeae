package service

import (
	"net/netip"
	"testing"
	"time"
)

func TestGuessLimiter(t *testing.T) {
	t.Parallel()
	g := newGuessLimiter(3, 10*time.Second)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	now := time.Unix(1_800_000_000, 0)
	for i := 0; i < 3; i++ {
		if w := g.wait(a, now); w != 0 {
			t.Fatalf("failure %d: wait %v before the burst is used", i, w)
		}
		g.fail(a, now)
	}
	if w := g.wait(a, now); w != 10*time.Second {
		t.Fatalf("after 3 failures (the burst): wait %v, want 10s", w)
	}
	if w := g.wait(b, now); w != 0 {
		t.Fatalf("another address waits %v", w)
	}
	if w := g.wait(a, now.Add(10*time.Second)); w != 0 {
		t.Fatalf("after one refill period: wait %v, want 0", w)
	}
	var nilLimiter *guessLimiter
	nilLimiter.fail(a, now)
	if w := nilLimiter.wait(a, now); w != 0 {
		t.Fatalf("nil limiter waits %v", w)
	}
}

func TestGuessLimiterBounded(t *testing.T) {
	t.Parallel()
	g := newGuessLimiter(1, time.Hour)
	now := time.Unix(1_800_000_000, 0)
	for i := 0; i < maxGuessAddrs+10; i++ {
		g.fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), now)
	}
	if n := len(g.tat); n > maxGuessAddrs {
		t.Fatalf("tracking %d addresses, want at most %d", n, maxGuessAddrs)
	}
}
