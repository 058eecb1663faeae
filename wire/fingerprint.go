package wire

import "strconv"

// A Fingerprint identifies a machine by named components (machine id, board
// serial, MAC addresses, ...), each hashed by the client with a per-product
// salt before it leaves the machine, so no raw hardware identifier is ever
// sent. Matching tolerates change: a machine that keeps a majority of its
// components is the same machine.
//
// Encoding (part of the wire format):
//
//	 0       1                                                  1+9n
//	+-------+-------+----------------------------------+---- ... ----+
//	|   n   | kind  |        component hash (8)        |  n-1 more   |
//	+-------+-------+----------------------------------+---- ... ----+
//
// n is 1 to MaxComponents; kinds are 1 to MaxKind, strictly increasing, so a kind occurs
// at most once and every fingerprint has exactly one encoding.
type Fingerprint struct {
	N uint8                      // number of components in use
	C [MaxComponents]FPComponent // C[:N] are the components, kinds ascending
}

// FPComponent is one hashed fingerprint component.
type FPComponent struct {
	Kind ComponentKind
	Hash [FPHashSize]byte
}

// ComponentKind names what a component was derived from. Part of the wire
// format.
type ComponentKind uint8

// Component kinds. Part of the wire format.
const (
	KindMachineID   ComponentKind = 1 // /etc/machine-id, MachineGuid
	KindSystemUUID  ComponentKind = 2 // DMI / SMBIOS product UUID
	KindBoardSerial ComponentKind = 3 // baseboard serial
	KindBIOSSerial  ComponentKind = 4 // BIOS / system serial
	KindMAC         ComponentKind = 5 // physical network interfaces' MAC addresses
	KindCPU         ComponentKind = 6 // CPU model
	KindDisk        ComponentKind = 7 // root filesystem UUID / system volume serial
	KindExplicit    ComponentKind = 8 // publisher-chosen identifier (containers, VMs)
	KindHostname    ComponentKind = 9 // computer name
)

const (
	// MaxComponents is the most components a fingerprint may carry.
	MaxComponents = 12
	// FPHashSize is the size of one salted component hash.
	FPHashSize = 8
	// MinComponents is the fewest non-zero components the gateway accepts
	// for a new activation, unless the one component is KindExplicit.
	MinComponents = 2
	// MaxKind is the highest component kind a fingerprint may carry, so a
	// set of kinds fits a uint32 bit mask.
	MaxKind = 31
)

var kindNames = [...]string{
	KindMachineID: "machine-id", KindSystemUUID: "system-uuid", KindBoardSerial: "board-serial",
	KindBIOSSerial: "bios-serial", KindMAC: "mac", KindCPU: "cpu", KindDisk: "disk",
	KindExplicit: "explicit", KindHostname: "hostname",
}

// String returns the component kind's name, such as "machine-id".
func (k ComponentKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "kind-" + strconv.Itoa(int(k))
}

// Components returns the components in use. The slice points into f.
func (f *Fingerprint) Components() []FPComponent { return f.C[:f.N] }

// Equal reports whether f and g have the same components, in the same
// order; what lies past N in either is not compared. On the hot
// validation path, it costs a comparison per component in use, where
// comparing the whole structs (==) compares all MaxComponents.
func (f *Fingerprint) Equal(g *Fingerprint) bool {
	if f.N != g.N || f.N > MaxComponents {
		return false
	}
	for i := range f.N {
		if f.C[i] != g.C[i] {
			return false
		}
	}
	return true
}

// Len returns the encoded size.
func (f Fingerprint) Len() int { return 1 + int(f.N)*(1+FPHashSize) }

// Append appends the encoding of f to b.
func (f Fingerprint) Append(b []byte) []byte {
	b = append(b, f.N)
	for i := 0; i < int(f.N) && i < MaxComponents; i++ {
		b = append(b, byte(f.C[i].Kind))
		b = append(b, f.C[i].Hash[:]...)
	}
	return b
}

// ParseFingerprint parses an encoded fingerprint at the start of b and
// returns it with the number of bytes read. It rejects a count of zero or
// above MaxComponents and kinds out of order or repeated. It does not judge
// whether the fingerprint is plausible: see Plausible.
func ParseFingerprint(b []byte) (Fingerprint, int, error) {
	var f Fingerprint
	if len(b) < 1 {
		return f, 0, ErrShort
	}
	n := int(b[0])
	if n == 0 || n > MaxComponents {
		return f, 0, ErrInvalidField
	}
	need := 1 + n*(1+FPHashSize)
	if len(b) < need {
		return f, 0, ErrShort
	}
	f.N = uint8(n)
	p := 1
	var prev ComponentKind
	for i := 0; i < n; i++ {
		k := ComponentKind(b[p])
		if k > MaxKind {
			return Fingerprint{}, 0, ErrInvalidField
		}
		if k == 0 || k <= prev {
			return Fingerprint{}, 0, ErrNonCanonical
		}
		prev = k
		f.C[i].Kind = k
		copy(f.C[i].Hash[:], b[p+1:p+1+FPHashSize])
		p += 1 + FPHashSize
	}
	return f, need, nil
}

// Plausible reports whether f looks like a real machine: at least
// MinComponents components whose hashes are not all zero (or one explicit,
// publisher-chosen component that is not zero).
func (f *Fingerprint) Plausible() bool {
	nonzero := 0
	explicit := false
	for _, c := range f.Components() {
		if c.Hash == [FPHashSize]byte{} {
			return false
		}
		nonzero++
		if c.Kind == KindExplicit {
			explicit = true
		}
	}
	return nonzero >= MinComponents || explicit
}

// Match compares f, the fingerprint on record, with g, the one presented now.
// It returns a bit mask of the kinds of f whose component is missing from g
// or differs (bit k for kind k), and whether g is the same machine: a strict
// majority of f's components unchanged. An explicit component, when f has
// one, must match by itself.
func (f *Fingerprint) Match(g *Fingerprint) (changed uint32, same bool) {
	kept := 0
	j := 0
	gc := g.Components()
	for _, c := range f.Components() {
		for j < len(gc) && gc[j].Kind < c.Kind {
			j++
		}
		if j < len(gc) && gc[j].Kind == c.Kind && gc[j].Hash == c.Hash {
			kept++
			continue
		}
		changed |= 1 << c.Kind
		if c.Kind == KindExplicit {
			return changed, false
		}
	}
	return changed, f.N > 0 && 2*kept > int(f.N)
}
