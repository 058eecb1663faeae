package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/quic-go/quic-go"
)

// Admission bounds what clients that have not finished a QUIC handshake may
// cost the gateway (issue 12: a flood of spoofed Initials). quic-go creates
// a connection, with its TLS state and buffers, for every Initial it
// accepts, and keeps it until the handshake times out; a forged source
// address costs the sender nothing. So:
//
//   - past HandshakeRetry handshakes in progress in total, or
//     HandshakeRetryPerAddr from one address, a new client is first sent a
//     stateless Retry (RFC 9000 §8.1.2): it must echo the token from the
//     address it claims, which a spoofer never receives. quic-go clients
//     do so on their own, at the cost of one round trip;
//   - past MaxHandshakes in total, or MaxHandshakesPerAddr from one
//     address, and past MaxConns connections in total or MaxConnsPerAddr
//     from one address (handshakes included), a new connection is refused
//     (CONNECTION_REFUSED) before any state is made for it.
//
// An address is an IPv4 address (/32) or an IPv6 /64, what one host or one
// site's NAT holds. Each field's zero value means its default; a negative
// value turns that limit off.
type Admission struct {
	// HandshakeRetry: handshakes in progress, in total, past which every
	// new client must answer a Retry. Zero means 64.
	HandshakeRetry int `json:"handshake_retry"`
	// HandshakeRetryPerAddr: handshakes in progress from one address past
	// which a new client from it must answer a Retry. Zero means 32 (the
	// benchmark's idle-memory scenario opens 32 at a time from one
	// address, and is not asked).
	HandshakeRetryPerAddr int `json:"handshake_retry_per_addr"`
	// MaxHandshakes: handshakes in progress, in total, past which new
	// connections are refused. Zero means 1024.
	MaxHandshakes int `json:"max_handshakes"`
	// MaxHandshakesPerAddr: handshakes in progress from one address past
	// which its new connections are refused. Zero means 128.
	MaxHandshakesPerAddr int `json:"max_handshakes_per_addr"`
	// MaxConns: connections, handshakes included, past which new ones are
	// refused. Zero means 200,000.
	MaxConns int `json:"max_conns"`
	// MaxConnsPerAddr: connections from one address, handshakes included,
	// past which its new ones are refused. Zero means 20,000: an office or
	// a carrier's NAT holds far fewer apps than that, and the benchmark's
	// idle-memory scenario opens 10,000 from 127.0.0.1.
	MaxConnsPerAddr int `json:"max_conns_per_addr"`
}

// Defaults of Admission's zero fields.
const (
	DefaultHandshakeRetry        = 64
	DefaultHandshakeRetryPerAddr = 32
	DefaultMaxHandshakes         = 1024
	DefaultMaxHandshakesPerAddr  = 128
	DefaultMaxConns              = 200_000
	DefaultMaxConnsPerAddr       = 20_000
)

// maxAdmissionLimit bounds every Admission field: beyond it, turn the
// limit off.
const maxAdmissionLimit = 1 << 24

// withDefaults returns a with its zero fields set to their defaults.
func (a Admission) withDefaults() Admission {
	set := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	set(&a.HandshakeRetry, DefaultHandshakeRetry)
	set(&a.HandshakeRetryPerAddr, DefaultHandshakeRetryPerAddr)
	set(&a.MaxHandshakes, DefaultMaxHandshakes)
	set(&a.MaxHandshakesPerAddr, DefaultMaxHandshakesPerAddr)
	set(&a.MaxConns, DefaultMaxConns)
	set(&a.MaxConnsPerAddr, DefaultMaxConnsPerAddr)
	return a
}

// validate refuses limits too large to mean anything.
func (a Admission) validate() error {
	for _, v := range []int{a.HandshakeRetry, a.HandshakeRetryPerAddr, a.MaxHandshakes, a.MaxHandshakesPerAddr, a.MaxConns, a.MaxConnsPerAddr} {
		if v > maxAdmissionLimit {
			return fmt.Errorf("%w: admission limit %d is above %d (a negative value turns a limit off)", ErrConfig, v, maxAdmissionLimit)
		}
	}
	return nil
}

// atLimit reports whether n has reached limit; a negative limit is no limit.
func atLimit(n, limit int) bool { return limit >= 0 && n >= limit }

// errRefused is what ConnContext answers a connection past a hard cap;
// quic-go sends the client CONNECTION_REFUSED.
var errRefused = errors.New("gateway: too many connections")

// AdmissionStats are the admission controller's counters: the state now
// and, since the gateway started, what it did.
type AdmissionStats struct {
	Handshakes     int    // handshakes in progress
	PeakHandshakes int    // the most handshakes in progress at once
	Conns          int    // established connections
	Addrs          int    // addresses holding a handshake or a connection
	Retries        uint64 // Initials answered with a Retry
	Refused        uint64 // connections refused past a cap
	Admitted       uint64 // connections made (handshakes begun)
	Established    uint64 // handshakes that completed
}

// admission keeps the counts the limits are checked against. quic-go calls
// verify and connContext from its server goroutine, one Initial at a time;
// releases come from connection goroutines, and established from the
// accept loop, so every count is under mu.
type admission struct {
	lim Admission

	mu         sync.Mutex
	handshakes int
	peak       int // the most handshakes at once
	conns      int // established, handshakes not included
	addrs      map[netip.Prefix]*addrCount

	retries     atomic.Uint64
	refused     atomic.Uint64
	admitted    atomic.Uint64
	established atomic.Uint64
}

// addrCount is what one address holds. An entry exists only while it holds
// something, so the map has at most MaxHandshakes+MaxConns entries; a
// spoofed flood past HandshakeRetry gets Retries, not entries.
type addrCount struct {
	handshakes, conns int
}

func newAdmission(lim Admission) *admission {
	return &admission{lim: lim.withDefaults(), addrs: make(map[netip.Prefix]*addrCount)}
}

// addrKey returns the address a limit counts by: the IPv4 address (an
// IPv4-mapped IPv6 address is one), or the IPv6 /64.
func addrKey(a net.Addr) netip.Prefix {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Prefix{}
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.WithZone("").Prefix(64)
	return p
}

// verify is quic.Transport.VerifySourceAddress: it is asked about each
// Initial without a valid token, and true makes quic-go answer with a
// Retry instead of making a connection.
func (a *admission) verify(addr net.Addr) bool {
	k := addrKey(addr)
	a.mu.Lock()
	retry := atLimit(a.handshakes, a.lim.HandshakeRetry)
	if c := a.addrs[k]; c != nil {
		retry = retry || atLimit(c.handshakes, a.lim.HandshakeRetryPerAddr)
	}
	a.mu.Unlock()
	if retry {
		a.retries.Add(1)
	}
	return retry
}

// admitKey is the conn.Context() key of an admitted connection's ticket.
type admitKey struct{}

// ticket is one admitted connection's place in the counts. Its state is
// under the admission's mu.
type ticket struct {
	key         netip.Prefix
	established bool
	released    bool
}

// connContext is quic.Transport.ConnContext: called as quic-go is about to
// make a connection, it refuses it past a cap, and otherwise counts it as
// a handshake until established moves it or its context ends.
func (a *admission) connContext(ctx context.Context, info *quic.ClientInfo) (context.Context, error) {
	k := addrKey(info.RemoteAddr)
	a.mu.Lock()
	c := a.addrs[k]
	var hs, conns int
	if c != nil {
		hs, conns = c.handshakes, c.conns
	}
	if atLimit(a.handshakes, a.lim.MaxHandshakes) || atLimit(hs, a.lim.MaxHandshakesPerAddr) ||
		atLimit(a.handshakes+a.conns, a.lim.MaxConns) || atLimit(hs+conns, a.lim.MaxConnsPerAddr) {
		a.mu.Unlock()
		a.refused.Add(1)
		return nil, errRefused
	}
	if c == nil {
		c = &addrCount{}
		a.addrs[k] = c
	}
	c.handshakes++
	a.handshakes++
	a.peak = max(a.peak, a.handshakes)
	a.mu.Unlock()
	a.admitted.Add(1)
	t := &ticket{key: k}
	context.AfterFunc(ctx, func() { a.release(t) })
	return context.WithValue(ctx, admitKey{}, t), nil
}

// establish moves the connection of ctx (its conn.Context()), whose
// handshake completed, from the handshakes to the connections. A
// connection not admitted here is left alone.
func (a *admission) establish(ctx context.Context) {
	t, ok := ctx.Value(admitKey{}).(*ticket)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if t.released || t.established {
		return
	}
	t.established = true
	c := a.addrs[t.key]
	c.handshakes--
	c.conns++
	a.handshakes--
	a.conns++
	a.established.Add(1)
}

// release gives back what t held, once: its connection closed or its
// handshake failed.
func (a *admission) release(t *ticket) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t.released {
		return
	}
	t.released = true
	c := a.addrs[t.key]
	if t.established {
		c.conns--
		a.conns--
	} else {
		c.handshakes--
		a.handshakes--
	}
	if c.handshakes == 0 && c.conns == 0 {
		delete(a.addrs, t.key)
	}
}

// stats returns the counts now and the counters since start.
func (a *admission) stats() AdmissionStats {
	a.mu.Lock()
	s := AdmissionStats{Handshakes: a.handshakes, PeakHandshakes: a.peak, Conns: a.conns, Addrs: len(a.addrs)}
	a.mu.Unlock()
	s.Retries, s.Refused, s.Admitted, s.Established = a.retries.Load(), a.refused.Load(), a.admitted.Load(), a.established.Load()
	return s
}

// AdmissionStats returns the admission controller's counts and counters
// (for tollgate stats).
func (s *Server) AdmissionStats() AdmissionStats { return s.adm.stats() }
