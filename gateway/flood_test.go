package gateway_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/internal/quicinitial"
	"github.com/tollgate/tollgate/service"
)

// flooder sends Initial packets from one loopback address and never
// answers; it reads what the gateway sends back: the connections the
// gateway made (their server-side connection ids) and its Retries.
type flooder struct {
	conn *net.UDPConn
	b    *quicinitial.Builder
	to   *net.UDPAddr

	mu      sync.Mutex
	conns   map[string]bool // server connection ids seen in Initial and Handshake packets
	retries int
	done    chan struct{}
}

// newFlooder binds ip (any port), or skips the test where the system
// does not route that loopback address (only 127.0.0.1 is sure to exist
// outside Linux).
func newFlooder(t *testing.T, ip string, to string, b *quicinitial.Builder) *flooder {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Skipf("cannot bind %s: %v", ip, err)
	}
	ta, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	f := &flooder{conn: conn, b: b, to: ta, conns: map[string]bool{}, done: make(chan struct{})}
	go f.read()
	t.Cleanup(func() { conn.Close(); <-f.done })
	return f
}

func (f *flooder) read() {
	defer close(f.done)
	buf := make([]byte, 2048)
	for {
		n, err := f.conn.Read(buf)
		if err != nil {
			return
		}
		kind, scid := quicinitial.Classify(buf[:n])
		f.mu.Lock()
		switch kind {
		case quicinitial.KindInitial, quicinitial.KindHandshake:
			f.conns[string(scid)] = true
		case quicinitial.KindRetry:
			f.retries++
		}
		f.mu.Unlock()
	}
}

// send sends n Initials, each with a new random connection id.
func (f *flooder) send(t *testing.T, n int) {
	t.Helper()
	var pkt []byte
	for range n {
		var dcid [quicinitial.ConnIDLen]byte
		rand.Read(dcid[:])
		pkt = f.b.Append(pkt[:0], dcid, false)
		if _, err := f.conn.WriteToUDP(pkt, f.to); err != nil {
			t.Fatalf("sending an Initial: %v", err)
		}
	}
}

func (f *flooder) seen() (conns, retries int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns), f.retries
}

// waitAccounted waits until the gateway has decided about n Initials
// (made a connection, sent a Retry or refused), polling its counters, or
// until fs saw it answer n of them with a connection or a Retry (a
// gateway without admission control counts nothing).
func waitAccounted(t *testing.T, srv *gateway.Server, n uint64, fs ...*flooder) gateway.AdmissionStats {
	t.Helper()
	deadline := time.Now().Add(hang.Timeout(t))
	for {
		s := srv.AdmissionStats()
		if s.Admitted+s.Retries+s.Refused >= n {
			return s
		}
		seen := 0
		for _, f := range fs {
			c, r := f.seen()
			seen += c + r
		}
		if len(fs) > 0 && uint64(seen) >= n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway decided about %d of %d Initials: %+v", s.Admitted+s.Retries+s.Refused, n, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// floodConfig keeps flood handshakes pending for the whole test (the
// handshake timeout is far longer than the test), so counts are exact.
func floodConfig(adm gateway.Admission) func(*gateway.Config) {
	return func(c *gateway.Config) {
		c.Limits.HandshakeTimeout = 5 * time.Minute
		c.Admission = adm
	}
}

const (
	floodSources = 8  // flooding addresses, 127.0.0.2 to 127.0.0.9
	floodRounds  = 3  // rounds of Initials from each
	floodBatch   = 10 // Initials per address per round
)

// flood sends floodRounds rounds of floodBatch Initials from each flooder,
// waiting after each batch until the gateway has decided about them, so
// that its socket never overflows and every Initial is counted.
func flood(t *testing.T, srv *gateway.Server, fs []*flooder) gateway.AdmissionStats {
	t.Helper()
	var s gateway.AdmissionStats
	sent := uint64(0)
	for range floodRounds {
		for _, f := range fs {
			f.send(t, floodBatch)
			sent += floodBatch
			s = waitAccounted(t, srv, sent, fs...)
		}
	}
	return s
}

func flooders(t *testing.T, g *testGateway) []*flooder {
	t.Helper()
	var scid [quicinitial.ConnIDLen]byte
	rand.Read(scid[:])
	b, err := quicinitial.NewBuilder(channel.ALPN, scid, nil)
	if err != nil {
		t.Fatal(err)
	}
	fs := make([]*flooder, floodSources)
	for i := range fs {
		fs[i] = newFlooder(t, fmt.Sprintf("127.0.0.%d", i+2), g.card.Address, b)
	}
	return fs
}

// TestHandshakeFloodRetry floods the gateway with Initials from eight
// addresses that never answer, as spoofed ones would not, and checks that
// it made at most HandshakeRetry connections for them (at most
// HandshakeRetryPerAddr per address) and answered the rest with Retries,
// while a real client, which answers the Retry, activates and validates.
// Without admission control the gateway makes a connection, with its TLS
// state, for each of the 240 Initials.
func TestHandshakeFloodRetry(t *testing.T) {
	t.Parallel()
	adm := gateway.Admission{HandshakeRetry: 20, HandshakeRetryPerAddr: 4, MaxHandshakes: 40, MaxHandshakesPerAddr: 8}
	g := startGateway(t, floodConfig(adm))
	fs := flooders(t, g)
	s := flood(t, g.srv, fs)

	const sent = floodSources * floodRounds * floodBatch
	if s.PeakHandshakes > adm.HandshakeRetry || s.Handshakes > adm.HandshakeRetry || s.Admitted > uint64(adm.HandshakeRetry) {
		t.Errorf("the flood got past the Retry threshold (%d): %+v", adm.HandshakeRetry, s)
	}
	if s.Admitted != uint64(adm.HandshakeRetry) || s.Retries != sent-uint64(adm.HandshakeRetry) || s.Refused != 0 {
		t.Errorf("%d Initials, %d Retries and %d refusals: %+v", sent, s.Retries, s.Refused, s)
	}
	// What the flooders saw, apart from the gateway's own counters: the
	// connections it made (each answers with its first flight from a
	// connection id of its own) and its Retries.
	made, retried := 0, 0
	for i, f := range fs {
		c, r := f.seen()
		if c > adm.HandshakeRetryPerAddr {
			t.Errorf("127.0.0.%d: the gateway made %d connections for it, more than %d", i+2, c, adm.HandshakeRetryPerAddr)
		}
		made, retried = made+c, retried+r
	}
	if made > adm.HandshakeRetry {
		t.Errorf("the gateway answered %d flood Initials with a connection, more than %d", made, adm.HandshakeRetry)
	}
	if made == 0 || retried == 0 {
		t.Errorf("the flooders saw %d connections and %d Retries: the Initials should make both", made, retried)
	}

	// The flood's handshakes are still pending: a real client is asked for
	// a Retry, answers it, and is served.
	if s := g.srv.AdmissionStats(); s.Handshakes < adm.HandshakeRetry {
		t.Fatalf("the flood's handshakes ended early: %+v", s)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(hang.Timeout(t)))
	defer cancel()
	keys := g.mint(t, 1, service.Spec{Seats: 1})
	c := g.client(t)
	res, err := c.Activate(ctx, keys[0], machine(1), "alpha", "1.0")
	if err != nil {
		t.Fatalf("a real client during the flood: Activate: %v", err)
	}
	if _, err := c.Validate(ctx, res.LicenseID, machine(1), 1, false); err != nil {
		t.Fatalf("a real client during the flood: Validate: %v", err)
	}
	after := g.srv.AdmissionStats()
	if after.Retries <= s.Retries || after.Established == 0 || after.PeakHandshakes > adm.MaxHandshakes {
		t.Errorf("the real client was not asked for a Retry, or not established: %+v", after)
	}
}

// TestHandshakeFloodRefused turns Retry off and checks the hard cap: past
// MaxHandshakes (and MaxHandshakesPerAddr from one address) handshakes in
// progress, new connections are refused before any state is made.
func TestHandshakeFloodRefused(t *testing.T) {
	t.Parallel()
	adm := gateway.Admission{HandshakeRetry: -1, HandshakeRetryPerAddr: -1, MaxHandshakes: 20, MaxHandshakesPerAddr: 4}
	g := startGateway(t, floodConfig(adm))
	fs := flooders(t, g)
	s := flood(t, g.srv, fs)
	const sent = floodSources * floodRounds * floodBatch
	if s.PeakHandshakes > adm.MaxHandshakes || s.Admitted > uint64(adm.MaxHandshakes) {
		t.Errorf("the flood got past MaxHandshakes (%d): %+v", adm.MaxHandshakes, s)
	}
	if s.Admitted != uint64(adm.MaxHandshakes) || s.Refused != sent-uint64(adm.MaxHandshakes) || s.Retries != 0 {
		t.Errorf("%d Initials, %d refused and %d Retries: %+v", sent, s.Refused, s.Retries, s)
	}
	// Each of the first five addresses holds its four handshakes.
	if s.Handshakes != adm.MaxHandshakes || s.Addrs != adm.MaxHandshakes/adm.MaxHandshakesPerAddr {
		t.Errorf("handshakes %d from %d addresses, want %d from %d", s.Handshakes, s.Addrs, adm.MaxHandshakes, adm.MaxHandshakes/adm.MaxHandshakesPerAddr)
	}
}

// TestHandshakeFloodUndecryptable: Initials whose payload does not decrypt
// still make quic-go create a connection; they are counted and capped
// like the others.
func TestHandshakeFloodUndecryptable(t *testing.T) {
	t.Parallel()
	adm := gateway.Admission{HandshakeRetry: 10, HandshakeRetryPerAddr: 4}
	g := startGateway(t, floodConfig(adm))
	var scid [quicinitial.ConnIDLen]byte
	b, err := quicinitial.NewBuilder(channel.ALPN, scid, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	to, _ := net.ResolveUDPAddr("udp", g.card.Address)
	var pkt []byte
	const n = 50
	for i := range n {
		var dcid [quicinitial.ConnIDLen]byte
		rand.Read(dcid[:])
		pkt = b.Append(pkt[:0], dcid, true)
		if _, err := conn.WriteToUDP(pkt, to); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal(err)
		}
		waitAccounted(t, g.srv, uint64(i+1))
	}
	s := g.srv.AdmissionStats()
	if s.PeakHandshakes > adm.HandshakeRetryPerAddr || s.Retries < n-uint64(adm.HandshakeRetryPerAddr) {
		t.Errorf("undecryptable Initials from one address: %+v", s)
	}
}
