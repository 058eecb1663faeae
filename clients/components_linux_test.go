package clients

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/wire"
)

// TestLinuxComponents reads a fake root: machine id from D-Bus's file, DMI,
// physical and virtual interfaces, CPU and root filesystem.
func TestLinuxComponents(t *testing.T) {
	root := t.TempDir()
	put := func(p, v string) {
		t.Helper()
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("var/lib/dbus/machine-id", "0123456789abcdef0123456789abcdef\n")
	put("sys/class/dmi/id/product_uuid", "4C4C4544-0031-3210-8030-B4C04F4E3332\n")
	put("sys/class/dmi/id/board_serial", "To be filled by O.E.M.\n")
	put("proc/cpuinfo", "processor\t: 0\nmodel name\t: Test CPU @ 2.00GHz\n\nprocessor\t: 1\nmodel name\t: Test CPU @ 2.00GHz\n")
	put("sys/class/net/eth0/address", "02:AB:CD:EF:00:01\n")
	put("sys/class/net/eth0/device/uevent", "")
	put("sys/class/net/docker0/address", "02:42:00:00:00:01\n") // no device: virtual
	put("dev/sda1", "")
	put("proc/self/mounts", "overlay /var/lib/docker overlay rw 0 0\n/dev/sda1 / ext4 rw 0 0\n")
	if err := os.MkdirAll(filepath.Join(root, "dev/disk/by-uuid"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../sda1", filepath.Join(root, "dev/disk/by-uuid/5d2c1e0a-1111-2222-3333-444455556666")); err != nil {
		t.Fatal(err)
	}
	got := map[wire.ComponentKind][]string{}
	for _, c := range linuxComponents(root) {
		if v := usable(c.Value); v != "" {
			got[c.Kind] = append(got[c.Kind], v)
		}
	}
	want := map[wire.ComponentKind][]string{
		wire.KindMachineID:  {"0123456789abcdef0123456789abcdef"},
		wire.KindSystemUUID: {"4c4c4544-0031-3210-8030-b4c04f4e3332"},
		wire.KindCPU:        {"Test CPU @ 2.00GHz"},
		wire.KindMAC:        {"02:ab:cd:ef:00:01"},
		wire.KindDisk:       {"5d2c1e0a-1111-2222-3333-444455556666"},
	}
	if len(got) != len(want) {
		t.Fatalf("components %v, want %v", got, want)
	}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("%v: got %q, want %q", k, got[k], v)
		}
	}
}
