package clients

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// SMBIOS tables, as Windows' GetSystemFirmwareTable('RSMB') returns them
// (and Linux's /sys/firmware/dmi/tables/DMI holds). The client reads three
// identifiers from them: the system UUID and serial (type 1) and the
// baseboard serial (type 2).
//
// One structure of the table:
//
//	 0      1        2            4                  length
//	+------+--------+------------+---- ... ----------+------------------------+
//	| type | length | handle (2) | formatted fields  | strings, each NUL-ended |
//	+------+--------+------------+---- ... ----------+-----------+------------+
//	                                                  ended by an empty string
//
// A string field holds a 1-based index into the structure's strings (0 for
// none). Type 127 ends the table.
const (
	smbiosHeaderLen    = 4
	smbiosTypeSystem   = 1
	smbiosTypeBoard    = 2
	smbiosTypeEnd      = 127
	smbiosSystemSerial = 0x07 // type 1: serial number string
	smbiosSystemUUID   = 0x08 // type 1: UUID, 16 bytes
	smbiosBoardSerial  = 0x07 // type 2: serial number string
	rawSMBIOSHeaderLen = 8    // Windows' RawSMBIOSData before the table
)

// errSMBIOS reports a table that does not follow the layout.
var errSMBIOS = errors.New("clients: malformed SMBIOS table")

// smbiosIDs holds what the client reads from the SMBIOS table. Empty
// strings for identifiers the table lacks or that are placeholders.
type smbiosIDs struct {
	SystemUUID   string
	SystemSerial string
	BoardSerial  string
}

// parseRawSMBIOS parses Windows' RawSMBIOSData: an 8-byte header whose last
// four bytes give the table length, then the table.
func parseRawSMBIOS(b []byte) (smbiosIDs, error) {
	if len(b) < rawSMBIOSHeaderLen {
		return smbiosIDs{}, fmt.Errorf("%w: %d bytes", errSMBIOS, len(b))
	}
	n := uint64(binary.LittleEndian.Uint32(b[4:8]))
	if n > uint64(len(b)-rawSMBIOSHeaderLen) {
		return smbiosIDs{}, fmt.Errorf("%w: table of %d bytes in %d", errSMBIOS, n, len(b)-rawSMBIOSHeaderLen)
	}
	return parseSMBIOS(b[rawSMBIOSHeaderLen : rawSMBIOSHeaderLen+n])
}

// parseSMBIOS walks an SMBIOS structure table. It checks every length
// before reading and stops at the end-of-table structure or the end of b.
func parseSMBIOS(b []byte) (smbiosIDs, error) {
	var ids smbiosIDs
	for len(b) > 0 {
		if len(b) < smbiosHeaderLen {
			return smbiosIDs{}, fmt.Errorf("%w: short structure header", errSMBIOS)
		}
		typ, flen := b[0], int(b[1])
		if flen < smbiosHeaderLen || flen > len(b) {
			return smbiosIDs{}, fmt.Errorf("%w: structure length %d", errSMBIOS, flen)
		}
		formatted := b[:flen]
		// The strings area ends with two NULs (an empty string list is two
		// NULs as well).
		end := -1
		for i := flen; i+1 < len(b); i++ {
			if b[i] == 0 && b[i+1] == 0 {
				end = i + 2
				break
			}
		}
		if end < 0 {
			return smbiosIDs{}, fmt.Errorf("%w: unterminated strings", errSMBIOS)
		}
		strs := b[flen : end-1]
		switch typ {
		case smbiosTypeSystem:
			ids.SystemSerial = smbiosString(formatted, smbiosSystemSerial, strs)
			if flen >= smbiosSystemUUID+16 {
				ids.SystemUUID = formatSMBIOSUUID(formatted[smbiosSystemUUID : smbiosSystemUUID+16])
			}
		case smbiosTypeBoard:
			ids.BoardSerial = smbiosString(formatted, smbiosBoardSerial, strs)
		case smbiosTypeEnd:
			return ids, nil
		}
		b = b[end:]
	}
	return ids, nil
}

// smbiosString returns the string a formatted field at off points to, or
// "" when the field is absent, zero, out of range, or a placeholder.
func smbiosString(formatted []byte, off int, strs []byte) string {
	if off >= len(formatted) || formatted[off] == 0 {
		return ""
	}
	idx := int(formatted[off])
	for i := 1; len(strs) > 0; i++ {
		s := strs
		n := 0
		for n < len(s) && s[n] != 0 {
			n++
		}
		if i == idx {
			return usable(string(s[:n]))
		}
		if n == len(s) {
			break
		}
		strs = s[n+1:]
	}
	return ""
}

// formatSMBIOSUUID formats a system UUID as Linux's product_uuid does: the
// first three fields are little-endian in SMBIOS 2.6 and later. All zeros
// and all ones mean "not set".
func formatSMBIOSUUID(u []byte) string {
	zero, ones := true, true
	for _, c := range u {
		zero = zero && c == 0
		ones = ones && c == 0xff
	}
	if zero || ones {
		return ""
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(u[0:4]), binary.LittleEndian.Uint16(u[4:6]), binary.LittleEndian.Uint16(u[6:8]), u[8:10], u[10:16])
}
