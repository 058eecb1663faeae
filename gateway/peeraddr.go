package gateway

import (
	"net"
	"net/netip"
)

// addrOf returns the IP address of a UDP peer, an IPv4-mapped IPv6 address
// as IPv4.
func addrOf(remote net.Addr) (netip.Addr, bool) {
	u, ok := remote.(*net.UDPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	return u.AddrPort().Addr().Unmap(), true
}

// guessAddr is the address a peer's failures count against: its IP, or
// the /64 of an IPv6 address.
func guessAddr(remote net.Addr) netip.Addr {
	a, ok := addrOf(remote)
	if !ok {
		return netip.Addr{}
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}
