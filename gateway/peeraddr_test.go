package gateway

import (
	"net"
	"net/netip"
	"testing"
)

func TestGuessAddr(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"127.0.0.2:4000", "127.0.0.2"},
		{"[::ffff:10.0.0.1]:4000", "10.0.0.1"},
		{"[2001:db8:1:2:3:4:5:6]:4000", "2001:db8:1:2::"},
	} {
		ap := netip.MustParseAddrPort(c.in)
		got := guessAddr(net.UDPAddrFromAddrPort(ap))
		if got.String() != c.want {
			t.Errorf("guessAddr(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}
