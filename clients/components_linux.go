package clients

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/tollgate/tollgate/wire"
)

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func platformComponents() []RawComponent {
	mid := readTrim("/etc/machine-id")
	if mid == "" {
		mid = readTrim("/var/lib/dbus/machine-id")
	}
	out := []RawComponent{
		{wire.KindMachineID, mid},
		{wire.KindSystemUUID, readTrim("/sys/class/dmi/id/product_uuid")},
		{wire.KindBoardSerial, readTrim("/sys/class/dmi/id/board_serial")},
		{wire.KindCPU, cpuModel()},
		{wire.KindDisk, rootFSUUID()},
	}
	return out
}

func cpuModel() string {
	for _, line := range strings.Split(readTrim("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// rootFSUUID finds the UUID of the device mounted at / through
// /dev/disk/by-uuid.
func rootFSUUID() string {
	var dev string
	for _, line := range strings.Split(readTrim("/proc/self/mounts"), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[1] == "/" {
			dev = f[0]
		}
	}
	if dev == "" {
		return ""
	}
	target, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return ""
	}
	entries, _ := os.ReadDir("/dev/disk/by-uuid")
	for _, e := range entries {
		p := filepath.Join("/dev/disk/by-uuid", e.Name())
		if t, err := filepath.EvalSymlinks(p); err == nil && t == target {
			return e.Name()
		}
	}
	return ""
}

// physical reports whether a network interface is backed by hardware (it
// has a device link in sysfs), so virtual bridges and tunnels do not count.
func physical(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/net", name, "device"))
	return err == nil
}
