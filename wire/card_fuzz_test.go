package wire

import (
	"bytes"
	"testing"
)

// FuzzParseCard checks that ParseCard never panics, returns nothing with an
// error, and that a card it accepts survives Marshal: parsing the encoding
// gives an equal card, which encodes to the same bytes.
func FuzzParseCard(f *testing.F) {
	c := cardForTest(f)
	f.Add(c.Marshal())
	f.Add(bytes.ReplaceAll(c.Marshal(), []byte("\n"), []byte("\r\n")))
	one := *c
	one.LeaseKeys = c.LeaseKeys[:1]
	one.Address = "gateway.example.com:7443"
	f.Add(one.Marshal())
	f.Add([]byte("tollgate-card 1\naddress [::1]:1\n"))
	several := *c
	several.Fallbacks = []string{"[::1]:7443", "gw2.example.com:443"}
	f.Add(several.Marshal())
	f.Add([]byte("tollgate-card 1\naddress a:1\naddress A:1\n"))
	f.Add([]byte("# comment\n\ntollgate-card 1\n"))
	f.Add(retiringCard(f).Marshal())
	f.Add(nextCard(f).Marshal())
	f.Add([]byte("tollgate-card 1\nnext-noise-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nnext-tls-pin sha256/x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseCard(b)
		if err != nil {
			if got != nil {
				t.Fatalf("ParseCard returned a card with error %v", err)
			}
			return
		}
		enc := got.Marshal()
		again, err := ParseCard(enc)
		if err != nil {
			t.Fatalf("ParseCard(Marshal()) of an accepted card: %v", err)
		}
		if !cardEqual(got, again) {
			t.Fatalf("parse, Marshal, parse gave a different card")
		}
		if enc2 := again.Marshal(); !bytes.Equal(enc, enc2) {
			t.Fatalf("Marshal is not stable: first difference at byte %d", firstDiff(enc, enc2))
		}
	})
}
