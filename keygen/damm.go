package keygen

// The check character is computed with Damm's algorithm: fold the characters
// through a quasigroup operation ∘ starting from 0,
//
//	r₀ = 0,  rᵢ = rᵢ₋₁ ∘ cᵢ,
//
// and choose the last character so that the fold of all 30 ends at 0. A
// key is accepted only if its fold is 0.
//
// Why this catches the errors people make:
//   - Single substitution. ∘ is a quasigroup (its table is a Latin square),
//     so changing one character changes the interim value there, and every
//     later step r ↦ r ∘ c is a permutation, so the fold no longer ends at 0.
//   - Adjacent swap, anywhere including the check character. ∘ is weakly
//     totally anti-symmetric: (r∘x)∘y = (r∘y)∘x implies x = y. Swapping
//     differing x, y keeps the interim value r before the pair but changes
//     the one after it, and the later steps are permutations, so the fold
//     no longer ends at 0. Swapping the last character x with the check
//     character c goes undetected only if (r∘x)∘c and (r∘c)∘x are both 0.
//
// Construction. 36 = 4 × 9, and the direct product of weakly totally
// anti-symmetric quasigroups is one too, component by component. Over a
// field F, x∘y = a·x + y with a ∉ {0, 1} is a quasigroup, and
// (r∘x)∘y = a²r + a·x + y equals (r∘y)∘x only if (a-1)(x-y) = 0, that is
// x = y. We take
//
//	GF(4) = GF(2)[ω]/(ω²+ω+1), a = ω (a generator),
//	GF(9) = GF(3)[i]/(i²+1),   b = 1+i (a generator),
//
// and map a character value v in 0..35 to (v mod 4, v div 4), where the
// GF(4) element is the bit pair v mod 4 = 2·e₁ + e₀ meaning e₁ω + e₀, and
// the GF(9) element d = v div 4 = 3·q + p means p + q·i.
//
// The table is part of the key format: changing anything here invalidates
// every key ever issued. testdata/golden_keys.txt pins it.

// alphabet lists the characters of a key by value. Part of the key format.
const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// radix is the number of characters in the alphabet, len(alphabet), as an
// untyped constant.
const radix = 36

// noValue marks a byte outside the alphabet in charValue.
const noValue = 0xff

// charValue maps a canonical (upper-case) character to its value, and every
// other byte to noValue.
var charValue = func() (t [256]uint8) {
	for i := range t {
		t[i] = noValue
	}
	for v := range radix {
		t[alphabet[v]] = uint8(v)
	}
	return t
}()

// dammTable[x][y] is x∘y; dammZero[r] is the c for which r∘c = 0, which is
// the check character for interim value r.
var dammTable, dammZero = buildDamm()

func buildDamm() (t [radix][radix]uint8, zero [radix]uint8) {
	for x := range radix {
		for y := range radix {
			t[x][y] = dammOp(uint8(x), uint8(y))
			if t[x][y] == 0 {
				zero[x] = uint8(y)
			}
		}
	}
	return t, zero
}

// dammOp computes x∘y from the field arithmetic; buildDamm tabulates it.
func dammOp(x, y uint8) uint8 {
	z4 := gf4MulOmega(x%4) ^ (y % 4) // addition in GF(4) is XOR
	z9 := gf9Add(gf9MulOnePlusI(x/4), y/4)
	return z4 + 4*z9
}

// gf4MulOmega multiplies e₁ω + e₀ by ω: e₁ω² + e₀ω = (e₁+e₀)ω + e₁.
func gf4MulOmega(e uint8) uint8 {
	e1, e0 := e>>1, e&1
	return (e1^e0)<<1 | e1
}

// gf9MulOnePlusI multiplies p + q·i by 1+i: (p-q) + (p+q)·i.
func gf9MulOnePlusI(d uint8) uint8 {
	p, q := d%3, d/3
	return (p+3-q)%3 + 3*((p+q)%3)
}

// gf9Add adds p + q·i and p' + q'·i component-wise modulo 3.
func gf9Add(d, e uint8) uint8 {
	return (d%3+e%3)%3 + 3*((d/3+e/3)%3)
}

// checkChar returns the check character for the canonical characters s,
// which must all be in the alphabet.
func checkChar(s []byte) byte {
	var r uint8
	for _, c := range s {
		r = dammTable[r][charValue[c]]
	}
	return alphabet[dammZero[r]]
}
