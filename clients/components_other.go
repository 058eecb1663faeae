//go:build !linux && !windows

package clients

import (
	"net"

	"github.com/tollgate/tollgate/wire"
)

// platformComponents on platforms without a dedicated reader: the MAC
// addresses of the interfaces that have one. Too few for the gateway on
// most machines: such a program passes an explicit fingerprint.
func platformComponents() []RawComponent {
	var out []RawComponent
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 && len(i.HardwareAddr) > 0 {
			out = append(out, RawComponent{wire.KindMAC, i.HardwareAddr.String()})
		}
	}
	return out
}
