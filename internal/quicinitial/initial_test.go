package quicinitial

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"testing"
)

// TestClientKeys checks the key derivation against RFC 9001 Appendix A.1.
func TestClientKeys(t *testing.T) {
	dcid, _ := hex.DecodeString("8394c8f03e515708")
	k := clientKeys(dcid)
	if got := hex.EncodeToString(k.iv[:]); got != "fa044b2f42a3fd3b46fb255c" {
		t.Errorf("iv %s", got)
	}
	secret := expandLabel(extract(dcid), "client in", 32)
	if got := hex.EncodeToString(secret); got != "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea" {
		t.Errorf("client_initial_secret %s", got)
	}
	for _, c := range []struct{ label, want string }{{"quic key", "1f369613dd76d5467730efcbe3b1a22d"}, {"quic hp", "9f50449e04a0e810283a1e9933adedd2"}} {
		if got := hex.EncodeToString(expandLabel(secret, c.label, 16)); got != c.want {
			t.Errorf("%s %s, want %s", c.label, got, c.want)
		}
	}
}

// TestAppend checks the packet's size, its clear header, and that header
// protection and the payload undo with the keys of its connection id.
func TestAppend(t *testing.T) {
	b, err := NewBuilder("tollgate/1", [ConnIDLen]byte{1, 2, 3, 4, 5, 6, 7, 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dcid := [ConnIDLen]byte{9, 9, 9, 9, 9, 9, 9, 9}
	for _, bad := range []bool{false, true} {
		p := b.Append([]byte("x"), dcid, bad)[1:]
		if len(p) != Size {
			t.Fatalf("packet of %d bytes", len(p))
		}
		kind, scid := Classify(p)
		if kind != KindInitial || !bytes.Equal(scid, b.scid[:]) {
			t.Fatalf("classified as %v %x", kind, scid)
		}
		k := clientKeys(dcid[:])
		hl := b.headerLen()
		pnOff := hl - pnLen
		var mask [aes.BlockSize]byte
		k.hp.Encrypt(mask[:], p[pnOff+4:pnOff+4+sampleLen])
		hdr := append([]byte(nil), p[:hl]...)
		hdr[0] ^= mask[0] & 0x0f
		for i := range pnLen {
			hdr[pnOff+i] ^= mask[1+i]
		}
		if bad {
			if _, err := k.aead.Open(nil, k.iv[:], p[hl:], hdr); err == nil {
				t.Fatal("an undecryptable packet decrypted")
			}
			continue
		}
		if hdr[0] != firstByte || !bytes.Equal(hdr[pnOff:], []byte{0, 0, 0, 0}) {
			t.Fatalf("header protection did not undo: %x", hdr)
		}
		plain, err := k.aead.Open(nil, k.iv[:], p[hl:], hdr)
		if err != nil {
			t.Fatalf("payload: %v", err)
		}
		if plain[0] != frameCrypto || !bytes.Contains(plain, b.hello) || len(plain) > b.payloadLen() && plain[len(plain)-1] != 0 {
			t.Fatalf("payload is not a CRYPTO frame with the ClientHello (its first part), padded")
		}
	}
}
