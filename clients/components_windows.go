package clients

import (
	"errors"
	"net"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/tollgate/tollgate/wire"
)

// platformComponents reads, without cgo or WMI: the MachineGuid Windows
// sets at installation; the system UUID, system serial and baseboard serial
// from the SMBIOS table (GetSystemFirmwareTable), with the registry's copy of
// the UUID as a fallback; the CPU model; the MAC addresses of Ethernet and
// Wi-Fi adapters; and the serial number of the system volume.
func platformComponents() []RawComponent {
	ids, _ := firmwareIDs()
	if ids.SystemUUID == "" {
		// HardwareConfig's LastConfig is the SMBIOS UUID in braces.
		ids.SystemUUID = strings.ToLower(strings.Trim(regString(`SYSTEM\HardwareConfig`, "LastConfig"), "{}"))
	}
	out := []RawComponent{
		{wire.KindMachineID, regString(`SOFTWARE\Microsoft\Cryptography`, "MachineGuid")},
		{wire.KindSystemUUID, ids.SystemUUID},
		{wire.KindBoardSerial, ids.BoardSerial},
		{wire.KindBIOSSerial, ids.SystemSerial},
		{wire.KindCPU, regString(`HARDWARE\DESCRIPTION\System\CentralProcessor\0`, "ProcessorNameString")},
		{wire.KindDisk, systemVolumeSerial()},
	}
	for _, mac := range physicalMACs() {
		out = append(out, RawComponent{wire.KindMAC, mac})
	}
	return out
}

// regString reads a string value under HKEY_LOCAL_MACHINE, or "".
func regString(path, name string) string {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return ""
	}
	defer k.Close()
	v, _, err := k.GetStringValue(name)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(v)
}

var procGetSystemFirmwareTable = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetSystemFirmwareTable")

// rsmb is the 'RSMB' firmware table provider: the raw SMBIOS table.
const rsmb = 'R'<<24 | 'S'<<16 | 'M'<<8 | 'B'

// firmwareIDs reads the SMBIOS table through GetSystemFirmwareTable.
func firmwareIDs() (smbiosIDs, error) {
	if err := procGetSystemFirmwareTable.Find(); err != nil {
		return smbiosIDs{}, err
	}
	n, _, err := procGetSystemFirmwareTable.Call(rsmb, 0, 0, 0)
	if n == 0 || n > 1<<20 {
		return smbiosIDs{}, errors.Join(errSMBIOS, err)
	}
	buf := make([]byte, n)
	m, _, err := procGetSystemFirmwareTable.Call(rsmb, 0, uintptr(unsafe.Pointer(&buf[0])), n)
	if m == 0 || m > n {
		return smbiosIDs{}, errors.Join(errSMBIOS, err)
	}
	return parseRawSMBIOS(buf[:m])
}

// physicalMACs returns the MAC addresses of Ethernet and Wi-Fi adapters,
// so VPN tunnels and loopback do not count.
func physicalMACs() []string {
	size := uint32(15 << 10)
	for range 3 {
		buf := make([]byte, size)
		first := (*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0]))
		err := windows.GetAdaptersAddresses(windows.AF_UNSPEC, windows.GAA_FLAG_INCLUDE_ALL_INTERFACES, 0, first, &size)
		if errors.Is(err, windows.ERROR_BUFFER_OVERFLOW) {
			continue
		}
		if err != nil {
			return nil
		}
		var out []string
		for a := first; a != nil; a = a.Next {
			if a.IfType != windows.IF_TYPE_ETHERNET_CSMACD && a.IfType != windows.IF_TYPE_IEEE80211 {
				continue
			}
			if a.PhysicalAddressLength == 0 || a.PhysicalAddressLength > uint32(len(a.PhysicalAddress)) {
				continue
			}
			mac := net.HardwareAddr(a.PhysicalAddress[:a.PhysicalAddressLength]).String()
			if mac = usable(mac); mac != "" {
				out = append(out, mac)
			}
		}
		return out
	}
	return nil
}

// systemVolumeSerial returns the serial number of the volume Windows is
// installed on (set when the volume was formatted), in hex.
func systemVolumeSerial() string {
	drive := os.Getenv("SystemDrive")
	if drive == "" {
		drive = "C:"
	}
	root, err := windows.UTF16PtrFromString(drive + `\`)
	if err != nil {
		return ""
	}
	var serial uint32
	if err := windows.GetVolumeInformation(root, nil, 0, &serial, nil, nil, nil, 0); err != nil || serial == 0 {
		return ""
	}
	return strings.ToUpper(strings.TrimLeft(hex32(serial), "0"))
}

func hex32(v uint32) string {
	const digits = "0123456789abcdef"
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}
