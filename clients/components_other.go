//go:build !linux

package clients

import "github.com/tollgate/tollgate/wire"

// platformComponents on platforms without a dedicated reader: the host name
// only; MAC addresses are added by MachineComponents.
func platformComponents() []RawComponent {
	return []RawComponent{{wire.KindHostname, Hostname()}}
}

func physical(string) bool { return true }
