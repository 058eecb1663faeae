package wire

import "testing"

// TestFingerprintEqual: Equal compares the components in use, each kind
// and hash byte, and the count, and nothing past the count.
func TestFingerprintEqual(t *testing.T) {
	var f Fingerprint
	f.N = 3
	for i := range f.N {
		f.C[i] = FPComponent{Kind: ComponentKind(i + 1), Hash: [FPHashSize]byte{byte(i), 1, 2, 3, 4, 5, 6, byte(7 * i)}}
	}
	g := f
	if !f.Equal(&g) || !g.Equal(&f) {
		t.Fatal("a fingerprint is not Equal to its copy")
	}
	g.C[MaxComponents-1].Hash[0] = 0xff // past N: not compared
	if !f.Equal(&g) {
		t.Error("a difference past N made the fingerprints unequal")
	}
	for i := range int(f.N) {
		for j := range FPHashSize {
			h := f
			h.C[i].Hash[j] ^= 0x10
			if f.Equal(&h) {
				t.Errorf("component %d hash byte %d changed, still Equal", i, j)
			}
		}
		h := f
		h.C[i].Kind++
		if f.Equal(&h) {
			t.Errorf("component %d kind changed, still Equal", i)
		}
	}
	h := f
	h.N = 2
	if f.Equal(&h) || h.Equal(&f) {
		t.Error("fingerprints of 3 and 2 components are Equal")
	}
	h.N = MaxComponents + 1
	if h.Equal(&h) {
		t.Error("a fingerprint with more than MaxComponents is Equal to itself")
	}
}
