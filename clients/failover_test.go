package clients

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/wire"
)

// blackHole returns the address of an open loopback UDP socket that reads
// nothing and answers nothing, as a gateway's address behind a firewall
// that drops packets: a dial to it waits for its handshake timeout.
func blackHole(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

// dialLog records the addresses a link starts dialing, in order.
type dialLog struct {
	mu    sync.Mutex
	addrs []string
}

func (d *dialLog) hook(addr string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addrs = append(d.addrs, addr)
}

// take returns the addresses dialed since the last take.
func (d *dialLog) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := d.addrs
	d.addrs = nil
	return a
}

// withAddresses returns a copy of card listing addrs.
func withAddresses(t *testing.T, card *wire.Card, addrs ...string) *wire.Card {
	t.Helper()
	c := *card
	if err := c.SetAddresses(addrs); err != nil {
		t.Fatal(err)
	}
	return &c
}

// TestLinkFailsOverAndPrefersLastAnswered: the card's first address drops
// every packet, its second is a gateway. The first connection dials the
// first address, then, after its head start, the second, and is answered;
// the next new connection dials the second address first.
func TestLinkFailsOverAndPrefersLastAnswered(t *testing.T) {
	ts := startTimeServer(t, channel.Limits{}, nil)
	hole, good := blackHole(t), ts.ln.Addr().String()
	c, err := New(Config{Card: withAddresses(t, ts.card, hole, good), InstallKey: ts.client,
		Timeout: hang.Timeout(t), Limits: channel.Limits{HandshakeTimeout: hang.Timeout(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var log dialLog
	c.dialed = log.hook
	if _, err := c.ServerTime(context.Background()); err != nil {
		t.Fatalf("request with the first address dead: %v", err)
	}
	if got := log.take(); !slices.Equal(got, []string{hole, good}) {
		t.Fatalf("first connection dialed %q, want %q then %q", got, hole, good)
	}
	c.Close() // the next request dials a new connection
	if _, err := c.ServerTime(context.Background()); err != nil {
		t.Fatalf("request on a new connection: %v", err)
	}
	if got := log.take(); len(got) == 0 || got[0] != good {
		t.Fatalf("the new connection dialed %q, want %q first (it answered last)", got, good)
	}
	if n := ts.conns.Load(); n != 2 {
		t.Fatalf("the gateway saw %d connections, want 2", n)
	}
}

// TestLinkUnreachableNamesAddressesTried: when no address of the card
// answers, the error is ErrUnreachable and says how many were tried. A
// dial that fails starts the next at once, so both are tried whatever
// the head start.
func TestLinkUnreachableNamesAddressesTried(t *testing.T) {
	ts := startTimeServer(t, channel.Limits{}, nil)
	a, b := blackHole(t), blackHole(t)
	c, err := New(Config{Card: withAddresses(t, ts.card, a, b), InstallKey: ts.client,
		Timeout: hang.Timeout(t), Limits: channel.Limits{HandshakeTimeout: 500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.headStart = hang.Timeout(t) // only a failure starts the next dial
	var log dialLog
	c.dialed = log.hook
	_, err = c.ServerTime(context.Background())
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "2 of the card's 2 addresses tried, none answered") {
		t.Fatalf("error %v: want ErrUnreachable naming 2 addresses tried", err)
	}
	if got := log.take(); !slices.Equal(got, []string{a, b}) {
		t.Fatalf("dialed %q, want %q then %q", got, a, b)
	}
}

// TestLinkWrongGatewayBeatsUnreachable: one address drops packets, the
// other is a gateway of another card (its certificate fails the pin). The
// error is the one that says most, ErrHandshake, not ErrUnreachable.
func TestLinkWrongGatewayBeatsUnreachable(t *testing.T) {
	ts := startTimeServer(t, channel.Limits{}, nil)
	other := startTimeServer(t, channel.Limits{}, nil)
	c, err := New(Config{Card: withAddresses(t, ts.card, blackHole(t), other.ln.Addr().String()), InstallKey: ts.client,
		Timeout: hang.Timeout(t), Limits: channel.Limits{HandshakeTimeout: 500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.headStart = 0
	_, err = c.ServerTime(context.Background())
	if !errors.Is(err, ErrHandshake) || errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "2 of the card's 2 addresses tried") {
		t.Fatalf("error %v: want ErrHandshake naming 2 addresses tried", err)
	}
}

// TestLinkAddressOverride: Config.Address replaces the card's addresses:
// it is the only one dialed, and a failure is the one address's error.
func TestLinkAddressOverride(t *testing.T) {
	ts := startTimeServer(t, channel.Limits{}, nil)
	hole := blackHole(t)
	c, err := New(Config{Card: withAddresses(t, ts.card, ts.ln.Addr().String()), Address: hole, InstallKey: ts.client,
		Timeout: hang.Timeout(t), Limits: channel.Limits{HandshakeTimeout: 500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var log dialLog
	c.dialed = log.hook
	_, err = c.ServerTime(context.Background())
	if !errors.Is(err, ErrUnreachable) || strings.Contains(err.Error(), "addresses tried") {
		t.Fatalf("error %v: want the one address's ErrUnreachable", err)
	}
	if got := log.take(); !slices.Equal(got, []string{hole}) {
		t.Fatalf("dialed %q, want only the override %q", got, hole)
	}
}
