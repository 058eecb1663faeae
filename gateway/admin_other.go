//go:build !linux

package gateway

import (
	"errors"
	"net"
)

// errPeerUnknown says that this system cannot tell who is at the other end
// of a Unix socket: there, the admin socket's private directory is its
// only guard.
var errPeerUnknown = errors.New("gateway: the peer's user cannot be told on this system")

// peerUID returns errPeerUnknown: only the Linux build asks the kernel
// (SO_PEERCRED).
func peerUID(c net.Conn) (int, error) { return -1, errPeerUnknown }
