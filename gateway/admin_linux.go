package gateway

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// errPeerUnknown says that this system cannot tell who is at the other end
// of a Unix socket. Linux can: it is never returned here.
var errPeerUnknown = errors.New("gateway: the peer's user cannot be told on this system")

// peerUID returns the effective user id of the process at the other end of
// c, a Unix socket, as the kernel recorded it when it connected
// (SO_PEERCRED): it cannot be forged.
func peerUID(c net.Conn) (int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("gateway: admin socket: %T is not a socket", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("gateway: admin socket: %w", err)
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return -1, fmt.Errorf("gateway: admin socket: %w", err)
	}
	if cerr != nil {
		return -1, fmt.Errorf("gateway: admin socket: SO_PEERCRED: %w", cerr)
	}
	return int(cred.Uid), nil
}
