package clients

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/tollgate/tollgate/wire"
)

func platformComponents() []RawComponent { return linuxComponents("/") }

// linuxComponents reads the identifiers under root ("/" but in tests):
// the machine id (systemd's, else D-Bus's), the DMI product UUID and board
// serial (root-only on most distributions, so often missing for a user
// process), the MAC addresses of physical network interfaces, the CPU model
// and the UUID of the root filesystem.
func linuxComponents(root string) []RawComponent {
	at := func(p string) string { return filepath.Join(root, p) }
	mid := readTrim(at("etc/machine-id"))
	if mid == "" {
		mid = readTrim(at("var/lib/dbus/machine-id"))
	}
	out := []RawComponent{
		{wire.KindMachineID, mid},
		{wire.KindSystemUUID, strings.ToLower(readTrim(at("sys/class/dmi/id/product_uuid")))},
		{wire.KindBoardSerial, readTrim(at("sys/class/dmi/id/board_serial"))},
		{wire.KindBIOSSerial, readTrim(at("sys/class/dmi/id/product_serial"))},
		{wire.KindCPU, cpuModel(readTrim(at("proc/cpuinfo")))},
		{wire.KindDisk, rootFSUUID(root)},
	}
	for _, mac := range physicalMACs(at("sys/class/net")) {
		out = append(out, RawComponent{wire.KindMAC, mac})
	}
	return out
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel(cpuinfo string) string {
	for line := range strings.SplitSeq(cpuinfo, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// physicalMACs returns the MAC addresses of the interfaces in a
// /sys/class/net directory that are backed by hardware (they have a device
// link), so bridges, tunnels, veths and docker0 do not count. A bonded or
// renamed interface reports its permanent address when the kernel has one.
func physicalMACs(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(p, "device")); err != nil {
			continue
		}
		mac := readTrim(filepath.Join(p, "bonding_slave", "perm_hwaddr"))
		if mac == "" {
			mac = readTrim(filepath.Join(p, "address"))
		}
		if mac = strings.ToLower(usable(mac)); mac != "" {
			out = append(out, mac)
		}
	}
	return out
}

// rootFSUUID finds the UUID of the device mounted at / through
// /dev/disk/by-uuid.
func rootFSUUID(root string) string {
	var dev string
	for line := range strings.SplitSeq(readTrim(filepath.Join(root, "proc/self/mounts")), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[1] == "/" {
			dev = f[0]
		}
	}
	if !strings.HasPrefix(dev, "/") {
		return "" // overlay, tmpfs: a container's root has no UUID
	}
	target, err := filepath.EvalSymlinks(filepath.Join(root, dev))
	if err != nil {
		return ""
	}
	byUUID := filepath.Join(root, "dev/disk/by-uuid")
	entries, _ := os.ReadDir(byUUID)
	for _, e := range entries {
		if t, err := filepath.EvalSymlinks(filepath.Join(byUUID, e.Name())); err == nil && t == target {
			return e.Name()
		}
	}
	return ""
}
