// Package freeport finds a loopback UDP port for a process a test or a
// harness starts, whose address must be known before it binds (a gateway
// named in a server card).
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// UDP returns "127.0.0.1:PORT" for a UDP port free a moment ago, below the
// kernel's ephemeral range: a free port of that range may be taken by any
// client's socket (a QUIC client dials from one, and a second copy of the
// tests runs many) before the process binds it, while ports below it are
// handed out only when asked for by number.
func UDP() (string, error) {
	lo := ephemeralLow()
	for range 200 {
		port := 10000 + rand.IntN(lo-10000)
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			continue // taken
		}
		c.Close()
		return "127.0.0.1:" + strconv.Itoa(port), nil
	}
	return "", errors.New("freeport: no free loopback UDP port below the ephemeral range in 200 tries")
}

// ephemeralLow is the lowest port of the kernel's ephemeral range (Linux's
// ip_local_port_range), or 32768, the start of the range elsewhere too.
func ephemeralLow() int {
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var a, z int
		if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &a, &z); err == nil && a > 11000 {
			lo = a
		}
	}
	return lo
}
