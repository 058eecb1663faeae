package clients

import (
	"crypto/hmac"
	"crypto/sha256"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/tollgate/tollgate/wire"
)

// RawComponent is one machine identifier before hashing. Raw values never
// leave the machine: Fingerprint hashes them with a per-product salt.
type RawComponent struct {
	Kind  wire.ComponentKind
	Value string
}

// Fingerprint hashes raw components with a salt derived from the product
// code (HMAC-SHA-256, truncated), drops empty ones and orders them by kind.
// When several components share a kind (several network cards) they are
// combined, sorted, into one.
func Fingerprint(product string, raw []RawComponent) wire.Fingerprint {
	byKind := map[wire.ComponentKind][]string{}
	for _, c := range raw {
		v := strings.TrimSpace(c.Value)
		if v == "" || c.Kind == 0 || c.Kind > wire.MaxKind {
			continue
		}
		byKind[c.Kind] = append(byKind[c.Kind], v)
	}
	kinds := make([]wire.ComponentKind, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var f wire.Fingerprint
	for _, k := range kinds {
		if int(f.N) == wire.MaxComponents {
			break
		}
		vals := byKind[k]
		slices.Sort(vals)
		m := hmac.New(sha256.New, []byte("tollgate-fingerprint-v1/"+product))
		m.Write([]byte{byte(k)})
		m.Write([]byte(strings.Join(vals, "\x00")))
		sum := m.Sum(nil)
		f.C[f.N].Kind = k
		copy(f.C[f.N].Hash[:], sum)
		f.N++
	}
	return f
}

// MachineComponents reads this machine's identifiers: the platform's own
// (see components_*.go) and the MAC addresses of its physical interfaces.
func MachineComponents() []RawComponent {
	out := platformComponents()
	if ifs, err := net.Interfaces(); err == nil {
		for _, i := range ifs {
			if i.Flags&net.FlagLoopback != 0 || len(i.HardwareAddr) == 0 || !physical(i.Name) {
				continue
			}
			out = append(out, RawComponent{Kind: wire.KindMAC, Value: i.HardwareAddr.String()})
		}
	}
	return out
}

// Hostname is the computer name, the one thing sent in the clear so a user
// recognises the machine in a seat list.
func Hostname() string {
	h, _ := os.Hostname()
	return h
}
