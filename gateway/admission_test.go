package gateway

import (
	"context"
	"errors"
	"net"
	"runtime"
	"testing"

	"github.com/quic-go/quic-go"
)

func udp(s string) net.Addr {
	a, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		panic(err)
	}
	return a
}

// admit asks a as quic-go does for a new connection from addr: Retry
// first unless verified, then ConnContext. It returns the connection's
// cancel (its close) and ctx, or nil when it was sent a Retry or refused.
func admit(t *testing.T, a *admission, addr string, verified bool) (context.Context, context.CancelFunc, string) {
	t.Helper()
	ra := udp(addr)
	if !verified && a.verify(ra) {
		return nil, nil, "retry"
	}
	base, cancel := context.WithCancel(context.Background())
	ctx, err := a.connContext(base, &quic.ClientInfo{RemoteAddr: ra, AddrVerified: verified})
	if err != nil {
		cancel()
		if !errors.Is(err, errRefused) {
			t.Fatalf("connContext: %v", err)
		}
		return nil, nil, "refused"
	}
	return ctx, cancel, "admitted"
}

// waitReleased waits for context.AfterFunc's release to have run: it runs
// on its own goroutine once the context is cancelled.
func waitReleased(t *testing.T, a *admission, handshakes, conns int) {
	t.Helper()
	for range 1_000_000 {
		s := a.stats()
		if s.Handshakes == handshakes && s.Conns == conns {
			return
		}
		runtime.Gosched()
	}
	t.Fatalf("counts %+v, want %d handshakes and %d connections", a.stats(), handshakes, conns)
}

func TestAdmissionRetryThenRefuse(t *testing.T) {
	a := newAdmission(Admission{HandshakeRetry: 4, HandshakeRetryPerAddr: 2, MaxHandshakes: 6, MaxHandshakesPerAddr: 3, MaxConns: 8, MaxConnsPerAddr: 5})
	var cancels []context.CancelFunc
	want := func(addr string, verified bool, want string) context.Context {
		t.Helper()
		ctx, c, got := admit(t, a, addr, verified)
		if got != want {
			t.Fatalf("%s (verified %v): got %s, want %s (%+v)", addr, verified, got, want, a.stats())
		}
		if c != nil {
			cancels = append(cancels, c)
		}
		return ctx
	}
	// One address: two handshakes, then a Retry for the unverified.
	want("192.0.2.1:1000", false, "admitted")
	first := want("192.0.2.1:1001", false, "admitted")
	want("192.0.2.1:1002", false, "retry")
	// Verified, it gets one more, then its per-address cap refuses.
	want("192.0.2.1:1003", true, "admitted")
	want("192.0.2.1:1004", true, "refused")
	// An IPv6 /64 is one address; IPv4-mapped is IPv4.
	want("[2001:db8:1:2::1]:1", false, "admitted")
	want("[2001:db8:1:2:ffff::9]:2", false, "retry") // total 4: everyone is asked
	if k := addrKey(udp("[::ffff:192.0.2.1]:5")); k != addrKey(udp("192.0.2.1:5")) {
		t.Fatalf("IPv4-mapped address keyed as %v", k)
	}
	if addrKey(udp("[2001:db8:1:2::1]:1")) != addrKey(udp("[2001:db8:1:2:ffff::9]:2")) {
		t.Fatal("one IPv6 /64 keyed as two addresses")
	}
	want("[2001:db8:1:3::1]:1", true, "admitted") // another /64, verified: 5
	want("198.51.100.7:1", true, "admitted")      // 6 = MaxHandshakes
	want("198.51.100.8:1", true, "refused")
	s := a.stats()
	if s.Handshakes != 6 || s.PeakHandshakes != 6 || s.Retries != 2 || s.Refused != 2 || s.Admitted != 6 || s.Addrs != 4 {
		t.Fatalf("stats %+v", s)
	}

	// Established connections leave the handshake counts; the connection
	// caps count both.
	a.establish(first)
	a.establish(first) // once only
	if s := a.stats(); s.Handshakes != 5 || s.Conns != 1 || s.Established != 1 {
		t.Fatalf("after establishing: %+v", s)
	}
	want("198.51.100.9:1", true, "admitted") // 6 handshakes + 1 connection = 7
	want("198.51.100.10:1", true, "refused") // MaxHandshakes
	// Closing everything empties the counts and the address map.
	for _, c := range cancels {
		c()
	}
	waitReleased(t, a, 0, 0)
	if s := a.stats(); s.Addrs != 0 || s.PeakHandshakes != 6 {
		t.Fatalf("after closing: %+v", s)
	}
}

// TestAdmissionConnCaps: connections per address and in total, handshakes
// included, refuse new ones; limits turned off (negative) never do.
func TestAdmissionConnCaps(t *testing.T) {
	t.Parallel()
	a := newAdmission(Admission{HandshakeRetry: -1, HandshakeRetryPerAddr: -1, MaxHandshakes: -1, MaxHandshakesPerAddr: -1, MaxConns: 5, MaxConnsPerAddr: 3})
	for i := range 3 {
		ctx, _, got := admit(t, a, "203.0.113.1:1", false)
		if got != "admitted" {
			t.Fatalf("connection %d: %s", i, got)
		}
		a.establish(ctx)
	}
	if _, _, got := admit(t, a, "203.0.113.1:2", false); got != "refused" {
		t.Fatalf("a fourth connection from one address: %s", got)
	}
	admit(t, a, "203.0.113.2:1", false)
	admit(t, a, "203.0.113.3:1", false)
	if _, _, got := admit(t, a, "203.0.113.4:1", false); got != "refused" {
		t.Fatalf("a sixth connection: %s", got)
	}
	off := newAdmission(Admission{HandshakeRetry: -1, HandshakeRetryPerAddr: -1, MaxHandshakes: -1, MaxHandshakesPerAddr: -1, MaxConns: -1, MaxConnsPerAddr: -1})
	for i := range 1000 {
		if _, _, got := admit(t, off, "203.0.113.1:1", false); got != "admitted" {
			t.Fatalf("with every limit off, connection %d: %s", i, got)
		}
	}
}

func TestAdmissionConfig(t *testing.T) {
	t.Parallel()
	var c Config
	if err := ParseConfig([]byte(`{"admission": {"handshake_retry": 10, "max_conns_per_addr": -1}}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.Admission.HandshakeRetry != 10 || c.Admission.MaxConnsPerAddr != -1 {
		t.Fatalf("parsed %+v", c.Admission)
	}
	if d := c.Admission.withDefaults(); d.HandshakeRetryPerAddr != DefaultHandshakeRetryPerAddr || d.MaxConnsPerAddr != -1 || d.MaxHandshakes != DefaultMaxHandshakes {
		t.Fatalf("defaults %+v", d)
	}
	for _, bad := range []string{`{"admission": {"max_handshakes": 100000000}}`, `{"admission": {"handshake_retries": 1}}`} {
		if err := ParseConfig([]byte(bad), &c); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", bad, err)
		}
	}
}
