package clients

import (
	"os"
	"runtime"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/wire"
)

func TestFingerprintSaltedAndStable(t *testing.T) {
	raw := []RawComponent{
		{wire.KindMAC, "02:00:00:00:00:02"}, {wire.KindMachineID, "abc"},
		{wire.KindMAC, "02:00:00:00:00:01"}, {wire.KindDisk, " "},
	}
	a := Fingerprint("1AJS2", raw)
	b := Fingerprint("1AJS2", []RawComponent{raw[2], raw[1], raw[0], raw[0]})
	if a != b {
		t.Fatalf("order or repetition changed the fingerprint")
	}
	if a.N != 2 || a.C[0].Kind != wire.KindMachineID || a.C[1].Kind != wire.KindMAC {
		t.Fatalf("components %+v: want machine-id and mac, the empty disk dropped", a.Components())
	}
	c := Fingerprint("ZZZZZ", raw)
	if c.C[0].Hash == a.C[0].Hash {
		t.Fatalf("two products share a component hash: the salt is missing")
	}
	if !a.Plausible() {
		t.Fatalf("two real components not plausible")
	}
	e := MachineFingerprint("1AJS2", "container-7")
	if e.N != 1 || e.C[0].Kind != wire.KindExplicit || !e.Plausible() {
		t.Fatalf("explicit fingerprint %+v", e.Components())
	}
	if _, same := e.Match(&a); same {
		t.Fatalf("an explicit fingerprint matched a hardware one")
	}
}

func TestChangedKinds(t *testing.T) {
	f := Fingerprint("1AJS2", []RawComponent{{wire.KindMachineID, "m"}, {wire.KindMAC, "a"}, {wire.KindDisk, "d"}})
	g := Fingerprint("1AJS2", []RawComponent{{wire.KindMachineID, "m"}, {wire.KindMAC, "b"}, {wire.KindDisk, "d"}})
	changed, same := f.Match(&g)
	if got := ChangedKinds(changed); !same || !slices.Equal(got, []wire.ComponentKind{wire.KindMAC}) {
		t.Fatalf("a new network card: changed %v, same %v", got, same)
	}
}

func TestUsable(t *testing.T) {
	for _, v := range []string{"", "  ", "To be filled by O.E.M.", "Default string", "00000000-0000-0000-0000-000000000000", "0"} {
		if usable(v) != "" {
			t.Errorf("usable(%q) = %q, want empty", v, usable(v))
		}
	}
	if usable(" PF3ABC12 ") != "PF3ABC12" {
		t.Errorf("a real serial was dropped")
	}
}

// TestMachineComponents reads this machine: whatever it has, the
// fingerprint must have at least the machine id on a systemd machine.
func TestMachineComponents(t *testing.T) {
	fp := MachineFingerprint("1AJS2", "")
	t.Logf("this machine has %d fingerprint components", fp.N)
	if _, err := os.Stat("/etc/machine-id"); err == nil && runtime.GOOS == "linux" && fp.N == 0 {
		t.Fatalf("no components although /etc/machine-id exists")
	}
}
