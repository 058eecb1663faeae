package freeport

import (
	"net"
	"testing"
)

// TestUDP: the port is below the ephemeral range and can be bound.
func TestUDP(t *testing.T) {
	addr, err := UDP()
	if err != nil {
		t.Fatal(err)
	}
	u, err := net.ResolveUDPAddr("udp", addr)
	if err != nil || u.Port < 10000 || u.Port >= ephemeralLow() {
		t.Fatalf("UDP() = %s, %v; want a port in 10000..%d", addr, err, ephemeralLow()-1)
	}
	c, err := net.ListenUDP("udp", u)
	if err != nil {
		t.Fatalf("binding %s: %v", addr, err)
	}
	c.Close()
}
