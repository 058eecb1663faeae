package clients

import (
	"crypto/hmac"
	"crypto/sha256"
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
// combined, sorted, into one. The same machine gives different hashes for
// different products, so two publishers cannot join their seat lists.
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
		vals := slices.Compact(slices.Sorted(slices.Values(byKind[k])))
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

// MachineComponents reads this machine's identifiers (see
// components_linux.go and components_windows.go). Placeholder values that
// firmware vendors leave ("To be filled by O.E.M.", all zeros) are dropped.
// The host name is not among them: it is sent in the clear beside the
// fingerprint, and renaming a computer must not make it another machine.
func MachineComponents() []RawComponent {
	var out []RawComponent
	for _, c := range platformComponents() {
		if v := usable(c.Value); v != "" {
			out = append(out, RawComponent{Kind: c.Kind, Value: v})
		}
	}
	return out
}

// MachineFingerprint returns the fingerprint a program presents for
// product: the machine's components, hashed; or, when explicit is not
// empty, that publisher-chosen identifier alone.
//
// The explicit form is for containers and virtual machines whose hardware
// identifiers change at every start: the publisher picks an identifier that
// lives as long as the installation should (a volume-mounted file, a
// deployment name) and passes it here, so a restart keeps its seat instead
// of taking a new one. The gateway accepts a fingerprint of one explicit
// component, and it must then match exactly.
func MachineFingerprint(product, explicit string) wire.Fingerprint {
	if explicit != "" {
		return Fingerprint(product, []RawComponent{{Kind: wire.KindExplicit, Value: explicit}})
	}
	return Fingerprint(product, MachineComponents())
}

// ChangedKinds lists the component kinds set in a Match or gateway
// "changed" bit mask, in ascending order.
func ChangedKinds(mask uint32) []wire.ComponentKind {
	var out []wire.ComponentKind
	for k := wire.ComponentKind(1); k <= wire.MaxKind; k++ {
		if mask&(1<<k) != 0 {
			out = append(out, k)
		}
	}
	return out
}

// placeholders are values firmware ships in place of a real identifier.
// They are the same on millions of machines, so they identify nothing.
var placeholders = []string{
	"to be filled by o.e.m.", "default string", "system serial number", "not specified",
	"not applicable", "none", "n/a", "0", "00000000", "0123456789", "123456789", "chassis serial number",
	"base board serial number", "serial number", "o.e.m.", "oem", "invalid", "unknown",
	"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
	"00:00:00:00:00:00",
}

// usable returns v trimmed, or "" when it is a placeholder.
func usable(v string) string {
	v = strings.TrimSpace(v)
	if slices.Contains(placeholders, strings.ToLower(v)) {
		return ""
	}
	return v
}

// Hostname is the computer name, the one thing sent in the clear so a user
// recognises the machine in a seat list.
func Hostname() string {
	h, _ := os.Hostname()
	return h
}
