package keygen

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestAlphabet(t *testing.T) {
	if len(alphabet) != radix {
		t.Fatalf("len(alphabet) = %d, radix = %d", len(alphabet), radix)
	}
	for c := range 256 {
		v := charValue[c]
		inAlphabet := '0' <= c && c <= '9' || 'A' <= c && c <= 'Z'
		switch {
		case inAlphabet && (v == noValue || alphabet[v] != byte(c)):
			t.Errorf("charValue[%q] = %d, want its index in the alphabet", rune(c), v)
		case !inAlphabet && v != noValue:
			t.Errorf("charValue[%#x] = %d, want noValue", c, v)
		}
	}
}

// TestDammLatinSquare checks that ∘ is a quasigroup: every row and every
// column of the table is a permutation of 0..35. That is what makes every
// single-character substitution change the fold.
func TestDammLatinSquare(t *testing.T) {
	for i := range radix {
		var inRow, inCol [radix]bool
		for j := range radix {
			r, c := dammTable[i][j], dammTable[j][i]
			if r >= radix || c >= radix {
				t.Fatalf("table entry out of range at (%d, %d)", i, j)
			}
			if inRow[r] {
				t.Errorf("row %d repeats %d", i, r)
			}
			if inCol[c] {
				t.Errorf("column %d repeats %d", i, c)
			}
			inRow[r], inCol[c] = true, true
		}
	}
}

// TestDammAntiSymmetric checks, over all 36³ triples, that ∘ is weakly
// totally anti-symmetric, (c∘x)∘y = (c∘y)∘x ⇒ x = y, which makes every swap
// of adjacent differing characters change the fold, and also that
// x∘y = y∘x ⇒ x = y.
func TestDammAntiSymmetric(t *testing.T) {
	for x := range radix {
		for y := range radix {
			if x == y {
				continue
			}
			if dammTable[x][y] == dammTable[y][x] {
				t.Errorf("%d∘%d = %d∘%d", x, y, y, x)
			}
			for c := range radix {
				if dammTable[dammTable[c][x]][y] == dammTable[dammTable[c][y]][x] {
					t.Errorf("(%d∘%d)∘%d = (%d∘%d)∘%d", c, x, y, c, y, x)
				}
			}
		}
	}
}

func TestDammZero(t *testing.T) {
	for r := range radix {
		if z := dammZero[r]; z >= radix || dammTable[r][z] != 0 {
			t.Errorf("dammZero[%d] = %d, and %d∘%d != 0", r, z, r, z)
		}
	}
}

// TestDammTableReference rebuilds the table with generic polynomial
// arithmetic over GF(p)[t]/(t² - r₁t - r₀), independent of the shortcuts in
// damm.go.
func TestDammTableReference(t *testing.T) {
	// mul multiplies a₀ + a₁t by b₀ + b₁t in GF(p)[t]/(t² - r1·t - r0).
	mul := func(p, r0, r1 int, a, b [2]int) [2]int {
		c0, c1, c2 := a[0]*b[0], a[0]*b[1]+a[1]*b[0], a[1]*b[1]
		return [2]int{(c0 + c2*r0) % p, (c1 + c2*r1) % p}
	}
	add := func(p int, a, b [2]int) [2]int { return [2]int{(a[0] + b[0]) % p, (a[1] + b[1]) % p} }
	for x := range radix {
		for y := range radix {
			// GF(4): t² = t + 1, multiplier ω = t. Element v%4 = e₀ + 2e₁.
			x4, y4 := [2]int{x % 4 & 1, x % 4 >> 1}, [2]int{y % 4 & 1, y % 4 >> 1}
			z4 := add(2, mul(2, 1, 1, [2]int{0, 1}, x4), y4)
			// GF(9): t² = -1 = 2, multiplier 1 + t. Element v/4 = p + 3q.
			x9, y9 := [2]int{x / 4 % 3, x / 4 / 3}, [2]int{y / 4 % 3, y / 4 / 3}
			z9 := add(3, mul(3, 2, 0, [2]int{1, 1}, x9), y9)
			want := z4[0] + 2*z4[1] + 4*(z9[0]+3*z9[1])
			if got := dammTable[x][y]; int(got) != want {
				t.Fatalf("%d∘%d = %d, reference says %d", x, y, got, want)
			}
		}
	}
}

// TestDammTablePinned pins the table: changing it would invalidate every
// key ever issued. The digest was computed by an independent Python
// implementation of the same construction.
func TestDammTablePinned(t *testing.T) {
	const want = "b49cf5025f71202aba13b1b874582a20784f962529e46f5282117ac14222fa25"
	h := sha256.New()
	for _, row := range dammTable {
		h.Write(row[:])
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Fatalf("table digest %s, want %s", got, want)
	}
}
