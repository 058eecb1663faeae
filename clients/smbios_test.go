package clients

import (
	"encoding/binary"
	"errors"
	"testing"
)

// smbiosStruct builds one SMBIOS structure: formatted bytes after the
// header, then strings.
func smbiosStruct(typ byte, formatted []byte, strs ...string) []byte {
	b := []byte{typ, byte(smbiosHeaderLen + len(formatted)), 0x10, 0x00}
	b = append(b, formatted...)
	for _, s := range strs {
		b = append(b, s...)
		b = append(b, 0)
	}
	if len(strs) == 0 {
		b = append(b, 0)
	}
	return append(b, 0)
}

// sampleSMBIOS is a BIOS structure, a system with UUID and serial, a
// baseboard with a serial, and the end marker.
func sampleSMBIOS() []byte {
	uuid := []byte{0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	sys := append([]byte{1, 2, 3, 4}, uuid...) // manufacturer, product, version, serial (string 4)
	sys = append(sys, 6)                       // wake-up type
	var t []byte
	t = append(t, smbiosStruct(0, []byte{1, 2, 0, 0}, "Vendor", "1.0")...)
	t = append(t, smbiosStruct(1, sys, "Maker", "Model", "v1", "SYS-SERIAL-42")...)
	t = append(t, smbiosStruct(2, []byte{1, 2, 3, 4}, "Maker", "Board", "v2", "BOARD-7")...)
	t = append(t, smbiosStruct(127, nil)...)
	return t
}

func TestParseSMBIOS(t *testing.T) {
	ids, err := parseSMBIOS(sampleSMBIOS())
	if err != nil {
		t.Fatalf("parseSMBIOS: %v", err)
	}
	want := smbiosIDs{SystemUUID: "00112233-4455-6677-8899-aabbccddeeff", SystemSerial: "SYS-SERIAL-42", BoardSerial: "BOARD-7"}
	if ids != want {
		t.Fatalf("got %+v, want %+v", ids, want)
	}
	raw := binary.LittleEndian.AppendUint32([]byte{0, 3, 4, 0}, uint32(len(sampleSMBIOS())))
	raw = append(raw, sampleSMBIOS()...)
	if ids2, err := parseRawSMBIOS(raw); err != nil || ids2 != want {
		t.Fatalf("parseRawSMBIOS: %+v, %v", ids2, err)
	}

	// Placeholders and unset UUIDs read as absent.
	ff := make([]byte, 4+16+1)
	for i := 4; i < 20; i++ {
		ff[i] = 0xff
	}
	ff[3] = 1
	ph := smbiosStruct(1, ff, "To be filled by O.E.M.")
	if ids, err := parseSMBIOS(ph); err != nil || ids != (smbiosIDs{}) {
		t.Fatalf("placeholders: %+v, %v", ids, err)
	}
	// A string index past the strings reads as absent.
	if ids, err := parseSMBIOS(smbiosStruct(2, []byte{0, 0, 0, 9}, "x")); err != nil || ids.BoardSerial != "" {
		t.Fatalf("index out of range: %+v, %v", ids, err)
	}
}

func TestParseSMBIOSTruncated(t *testing.T) {
	b := sampleSMBIOS()
	end := len(b) - len(smbiosStruct(127, nil))
	// Every cut inside a structure (not on a boundary) fails; none panics.
	boundaries := map[int]bool{0: true, end: true}
	for n, i := 0, 0; i < end; {
		n = int(b[i+1])
		for i += n; !(b[i] == 0 && b[i+1] == 0); i++ {
		}
		i += 2
		boundaries[i] = true
	}
	for i := range b {
		_, err := parseSMBIOS(b[:i])
		if boundaries[i] {
			continue
		}
		if !errors.Is(err, errSMBIOS) {
			t.Fatalf("cut at %d of %d: %v, want errSMBIOS", i, len(b), err)
		}
	}
	raw := binary.LittleEndian.AppendUint32([]byte{0, 3, 4, 0}, uint32(len(b)+1))
	if _, err := parseRawSMBIOS(append(raw, b...)); !errors.Is(err, errSMBIOS) {
		t.Fatalf("raw table shorter than its length: %v", err)
	}
}

func FuzzParseSMBIOS(f *testing.F) {
	f.Add(sampleSMBIOS())
	f.Add(smbiosStruct(2, []byte{0, 0, 0, 1}, "serial"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := parseSMBIOS(b)
		if err != nil {
			if ids != (smbiosIDs{}) {
				t.Fatalf("error %v with a result %+v", err, ids)
			}
			return
		}
		for _, s := range []string{ids.SystemSerial, ids.BoardSerial} {
			if s != usable(s) {
				t.Fatalf("unusable value %q returned", s)
			}
		}
		if ids.SystemUUID != "" && len(ids.SystemUUID) != 36 {
			t.Fatalf("UUID %q", ids.SystemUUID)
		}
	})
}
