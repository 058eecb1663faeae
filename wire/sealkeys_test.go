package wire

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"testing"
)

func x25519Public(tb testing.TB, priv [SealEncSize]byte) [SealEncSize]byte {
	tb.Helper()
	k, err := ecdh.X25519().NewPrivateKey(priv[:])
	if err != nil {
		tb.Fatal(err)
	}
	return [SealEncSize]byte(k.PublicKey().Bytes())
}

func newShopKey(tb testing.TB) (priv, pub [SealEncSize]byte) {
	tb.Helper()
	if _, err := rand.Read(priv[:]); err != nil {
		tb.Fatal(err)
	}
	return priv, x25519Public(tb, priv)
}

// goldenShopKey is the private key the golden sealed keys are sealed to:
// the bytes 0x40 to 0x5f.
func goldenShopKey() (k [SealEncSize]byte) {
	for i := range k {
		k[i] = 0x40 + byte(i)
	}
	return k
}

// goldenSealed is testKey and testKey2 sealed to goldenShopKey for the
// order testMintRequest, by SealKeys. It pins the suite, the label and
// the info: an implementation that opens it opens what the gateway sends.
const goldenSealed = "0188620ed65366990761e47d9b629d1fd9f4bef797dd52707e282db85c5d27652f4c54549714db2985274fe4b22ba35a5477649fcb4b04a01a4c60310047038f7ce7eec6c6a7b1eb7ae7e27db4ef8583789e04091a06b9518c53a2bc88528f1a677a51a7cc99473e95bdfcf526"

// TestOpenKeysGolden opens the golden sealed keys; any other order, key,
// seal byte or a flipped bit fails with ErrInvalidField and no keys.
func TestOpenKeysGolden(t *testing.T) {
	sealed := unhex(t, goldenSealed)
	order := testMintRequest(t).AppendOrder(nil)
	keys, err := OpenKeys(goldenShopKey(), order, sealed)
	if err != nil || !bytes.Equal(keys, append(testKey[:], testKey2[:]...)) {
		t.Fatalf("OpenKeys of the golden vector: %v (keys equal: %v)", err, bytes.Equal(keys, append(testKey[:], testKey2[:]...)))
	}
	other := testMintRequest(t)
	other.OrderID = []byte("A-1002")
	wrongKey, _ := newShopKey(t)
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-20] ^= 1
	badSeal := bytes.Clone(sealed)
	badSeal[0] = 0x02
	for _, c := range []struct {
		name   string
		key    [SealEncSize]byte
		order  []byte
		sealed []byte
	}{
		{"another order", goldenShopKey(), other.AppendOrder(nil), sealed},
		{"another key", wrongKey, order, sealed},
		{"a flipped bit", goldenShopKey(), order, flipped},
		{"seal byte 2", goldenShopKey(), order, badSeal},
		{"a byte short", goldenShopKey(), order, sealed[:len(sealed)-1]},
		{"a key short", goldenShopKey(), order, sealed[:len(sealed)-KeySize]},
		{"empty", goldenShopKey(), order, nil},
	} {
		if keys, err := OpenKeys(c.key, c.order, c.sealed); !errors.Is(err, ErrInvalidField) || keys != nil {
			t.Errorf("%s: %d key bytes, %v; want none and ErrInvalidField", c.name, len(keys), err)
		}
	}
}

// TestSealKeys: sealed keys open to the same keys, at 1 and MaxMintCount
// keys; the sealed bytes hold no key in the clear and differ each time;
// SealKeys refuses what is not whole keys.
func TestSealKeys(t *testing.T) {
	priv, pub := newShopKey(t)
	order := testMintRequest(t).AppendOrder(nil)
	for _, n := range []int{1, MaxMintCount} {
		keys := mintKeys(n)
		sealed, err := SealKeys(pub, order, keys)
		if err != nil || len(sealed) != SealedKeysLen(n) {
			t.Fatalf("%d keys: SealKeys gave %d bytes, %v; want %d", n, len(sealed), err, SealedKeysLen(n))
		}
		if bytes.Contains(sealed, keys[:KeySize]) || bytes.Contains(sealed, keys[len(keys)-KeySize:]) {
			t.Fatalf("%d keys: a key is in the clear in the sealed bytes", n)
		}
		again, _ := SealKeys(pub, order, keys)
		if bytes.Equal(sealed, again) {
			t.Fatalf("%d keys: sealing twice gave the same bytes", n)
		}
		got, err := OpenKeys(priv, order, sealed)
		if err != nil || !bytes.Equal(got, keys) {
			t.Fatalf("%d keys: OpenKeys: %v", n, err)
		}
		m := MintResponse{Nonce: testNonce, OrderID: []byte("A-1001"), Count: uint16(n), Sealed: sealed}
		if err := m.Check(); err != nil {
			t.Fatalf("%d keys: a MintResponse carrying them does not Check: %v", n, err)
		}
	}
	for _, keys := range [][]byte{nil, testKey[:KeySize-1], mintKeys(MaxMintCount + 1)} {
		if _, err := SealKeys(pub, order, keys); !errors.Is(err, ErrInvalidField) {
			t.Errorf("SealKeys of %d bytes: %v, want ErrInvalidField", len(keys), err)
		}
	}
	var lowOrder [SealEncSize]byte // the all-zero point: X25519 gives zero
	if _, err := SealKeys(lowOrder, order, testKey[:]); !errors.Is(err, ErrInvalidField) {
		t.Errorf("SealKeys to a low-order key: %v, want ErrInvalidField", err)
	}
}

// FuzzOpenKeys: OpenKeys of any bytes returns keys only with no error, and
// then whole canonical keys, one for each 30 bytes the layout promises;
// never anything for bytes that are not the golden vector's layout.
func FuzzOpenKeys(f *testing.F) {
	f.Add(unhex(f, goldenSealed))
	f.Add(fakeSealed(1))
	f.Add([]byte{SealHPKEX25519})
	order := testMintRequest(f).AppendOrder(nil)
	f.Fuzz(func(t *testing.T, sealed []byte) {
		keys, err := OpenKeys(goldenShopKey(), order, sealed)
		if err != nil {
			if keys != nil || !errors.Is(err, ErrInvalidField) {
				t.Fatalf("failed with %v and %d key bytes", err, len(keys))
			}
			return
		}
		if checkSealed(sealed) != nil || len(keys) != len(sealed)-SealedKeysLen(0) || checkKeyChars("keys", keys) != nil {
			t.Fatalf("opened %d bytes of sealed keys to %d key bytes", len(sealed), len(keys))
		}
	})
}
