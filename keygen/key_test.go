package keygen

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden_keys.txt")

// Real keys, minted by this package and checked by an independent Python
// implementation of the check character. Test keys, not licenses.
const (
	validDisplay   = "1AJS2-YECR7-9HR24-V7KYU-Z3DSA-1DWGG"
	validCanonical = "1AJS2YECR79HR24V7KYUZ3DSA1DWGG"
	validRedacted  = "1AJS2-*****-*****-*****-*****-****G"
	validDisplay2  = "1AJS2-C068Y-4OMVE-DIK11-3TN89-19AMM"
	validDisplay3  = "1AJS2-ISKT6-Y7TUM-E7AAC-9MRIO-OHAZ9"
)

func TestParseKey(t *testing.T) {
	want := Key([]byte(validCanonical))
	valid := []string{
		validDisplay,
		validCanonical,
		strings.ToLower(validDisplay),
		"1ajs2YECR7-9hr24 v7kyu  z3dsa---1dwgg",
		"  1AJS2 YECR7 9HR24 V7KYU Z3DSA 1DWGG  ",
		"1-A-J-S-2-Y-E-C-R-7-9-H-R-2-4-V-7-K-Y-U-Z-3-D-S-A-1-D-W-G-G",
		"-" + validDisplay + "-",
	}
	for _, s := range valid {
		k, err := ParseKey(s)
		if err != nil || k != want {
			t.Errorf("ParseKey(valid form %d chars) = %v, %v; want %v", len(s), k, err, want)
		}
	}
	for _, s := range []string{validDisplay2, validDisplay3} {
		if _, err := ParseKey(s); err != nil {
			t.Errorf("ParseKey(second valid key) = %v", err)
		}
	}

	// The wanted messages are the whole error text: they must say what is
	// wrong and contain nothing of the input.
	invalid := []struct {
		name string
		in   string
		is   error
		msg  string
	}{
		{"empty", "", ErrLength, "keygen: wrong key length: key has 0 characters, want 30"},
		{"only dashes", "----- -----", ErrLength, "keygen: wrong key length: key has 0 characters, want 30"},
		{"one short", validDisplay[:len(validDisplay)-1], ErrLength, "keygen: wrong key length: key has 29 characters, want 30"},
		{"one long", validDisplay + "G", ErrLength, "keygen: wrong key length: key has 31 characters, want 30"},
		{"doubled", validDisplay + validDisplay, ErrLength, "keygen: wrong key length: key has 60 characters, want 30"},
		{"underscore", strings.ReplaceAll(validDisplay, "-", "_"), ErrCharacter, "keygen: invalid character at position 6"},
		{"tab", strings.Replace(validDisplay, "-", "\t", 1), ErrCharacter, "keygen: invalid character at position 6"},
		{"newline at end", validDisplay + "\n", ErrCharacter, "keygen: invalid character at position 36"},
		{"en dash", strings.Replace(validDisplay, "-", "\u2013", 1), ErrCharacter, "keygen: invalid character at position 6"},
		{"Kelvin sign for K", strings.Replace(validDisplay, "K", "\u212a", 1), ErrCharacter, "keygen: invalid character at position 21"},
		{"long s for S", strings.Replace(validDisplay, "S", "\u017f", 1), ErrCharacter, "keygen: invalid character at position 4"},
		{"non-ASCII first", "\u00e9" + validCanonical, ErrCharacter, "keygen: invalid character at position 1"},
		{"NUL", validCanonical[:10] + "\x00" + validCanonical[11:], ErrCharacter, "keygen: invalid character at position 11"},
		{"high byte", validCanonical[:10] + "\xff" + validCanonical[11:], ErrCharacter, "keygen: invalid character at position 11"},
		{"wrong check", validDisplay[:len(validDisplay)-1] + "H", ErrCheck, "keygen: check character does not match (mistyped key?)"},
		{"O for 0", strings.Replace(validDisplay2, "0", "O", 1), ErrCheck, "keygen: check character does not match (mistyped key?)"},
		{"swap", "1AJS2-EYCR7-9HR24-V7KYU-Z3DSA-1DWGG", ErrCheck, "keygen: check character does not match (mistyped key?)"},
		{"swap with check", validDisplay3[:33] + "9Z", ErrCheck, "keygen: check character does not match (mistyped key?)"},
		{"two keys' halves", validDisplay[:17] + validDisplay2[17:], ErrCheck, "keygen: check character does not match (mistyped key?)"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseKey(tc.in)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if err.Error() != tc.msg {
				t.Errorf("message %q, want %q", err, tc.msg)
			}
			if !k.IsZero() {
				t.Errorf("returned a non-zero key on error")
			}
		})
	}
}

func TestParseCanonical(t *testing.T) {
	canon := []byte(validCanonical)
	k, err := ParseCanonical(canon)
	if err != nil || string(k.Append(nil)) != validCanonical {
		t.Fatalf("ParseCanonical(valid) = %v, %v", k, err)
	}
	lower := bytes.ToLower(canon)
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"nil", nil, ErrLength},
		{"display form", []byte(validDisplay), ErrLength},
		{"trailing byte", append(bytes.Clone(canon), 'G'), ErrLength},
		{"lower case", lower, ErrCharacter},
		{"dash inside", append(append(bytes.Clone(canon[:5]), '-'), canon[6:]...), ErrCharacter},
		{"space at end", append(bytes.Clone(canon[:29]), ' '), ErrCharacter},
		{"wrong check", append(bytes.Clone(canon[:29]), 'H'), ErrCheck},
	}
	for _, tc := range tests {
		k, err := ParseCanonical(tc.in)
		if err != tc.want {
			t.Errorf("%s: err = %v, want exactly %v", tc.name, err, tc.want)
		}
		if !k.IsZero() {
			t.Errorf("%s: returned a non-zero key on error", tc.name)
		}
	}
	// Every strict prefix fails with ErrLength.
	for i := range canon {
		if _, err := ParseCanonical(canon[:i]); err != ErrLength {
			t.Errorf("prefix of %d bytes: err = %v, want ErrLength", i, err)
		}
	}
}

func TestParseAllocs(t *testing.T) {
	canon := []byte(validCanonical)
	bad := append(bytes.Clone(canon[:29]), 'H')
	lower := bytes.ToLower(canon)
	wrongCheck := validDisplay[:34] + "H"
	cases := []struct {
		name string
		f    func()
	}{
		{"ParseKey display", func() { ParseKey(validDisplay) }},
		{"ParseKey lower, spaced", func() { ParseKey(" 1ajs2 yecr7 9hr24 v7kyu z3dsa 1dwgg ") }},
		{"ParseKey wrong check", func() { ParseKey(wrongCheck) }},
		{"ParseCanonical", func() { ParseCanonical(canon) }},
		{"ParseCanonical short", func() { ParseCanonical(canon[:29]) }},
		{"ParseCanonical lower", func() { ParseCanonical(lower) }},
		{"ParseCanonical wrong check", func() { ParseCanonical(bad) }},
	}
	for _, c := range cases {
		if n := testing.AllocsPerRun(100, c.f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", c.name, n)
		}
	}
}

// TestDetectsTypos mints keys and checks that every single-character
// substitution and every swap of two adjacent differing characters, at
// every position including the product code and the check character, is
// rejected.
func TestDetectsTypos(t *testing.T) {
	const nKeys = 250
	rng := rand.NewChaCha8([32]byte{'t', 'y', 'p', 'o', 's'})
	pick := rand.New(rand.NewChaCha8([32]byte{'p', 'r', 'o', 'd'}))
	var subs, swaps int
	for i := range nKeys {
		// A different product code per key, so that those positions see
		// many values too.
		var p ProductCode
		for j := range p {
			p[j] = alphabet[pick.IntN(radix)]
		}
		k, err := Mint(p, rng)
		if err != nil {
			t.Fatal(err)
		}
		buf := k.Append(nil)
		for pos := range KeyLen {
			orig := buf[pos]
			for c := range radix {
				if alphabet[c] == orig {
					continue
				}
				buf[pos] = alphabet[c]
				if _, err := ParseCanonical(buf); err != ErrCheck {
					t.Fatalf("key %d: substitution at %d accepted (err %v)", i, pos, err)
				}
				subs++
			}
			buf[pos] = orig
		}
		for pos := range KeyLen - 1 {
			if buf[pos] == buf[pos+1] {
				continue
			}
			buf[pos], buf[pos+1] = buf[pos+1], buf[pos]
			if _, err := ParseCanonical(buf); err != ErrCheck {
				t.Fatalf("key %d: swap at %d,%d accepted (err %v)", i, pos, pos+1, err)
			}
			if _, err := ParseKey(Key(buf).Display()); !errors.Is(err, ErrCheck) {
				t.Fatalf("key %d: ParseKey accepted swap at %d,%d (err %v)", i, pos, pos+1, err)
			}
			buf[pos], buf[pos+1] = buf[pos+1], buf[pos]
			swaps++
		}
		if _, err := ParseCanonical(buf); err != nil {
			t.Fatalf("key %d: restored key rejected: %v", i, err)
		}
	}
	if subs != nKeys*KeyLen*(radix-1) {
		t.Fatalf("tried %d substitutions, want %d", subs, nKeys*KeyLen*(radix-1))
	}
	t.Logf("%d keys: %d substitutions and %d adjacent swaps all rejected", nKeys, subs, swaps)
}

func TestKeyText(t *testing.T) {
	k, err := ParseKey(validDisplay)
	if err != nil {
		t.Fatal(err)
	}
	if got := k.Display(); got != validDisplay {
		t.Errorf("Display = %q, want the key", got)
	}
	if got := k.String(); got != validRedacted {
		t.Errorf("String = %q, want %q", got, validRedacted)
	}
	if got, want := k.GoString(), `keygen.Key("`+validRedacted+`")`; got != want {
		t.Errorf("GoString = %q, want %q", got, want)
	}
	if got := k.Product().String(); got != "1AJS2" {
		t.Errorf("Product = %q", got)
	}
	if k.Len() != KeyLen || len(k.Display()) != DisplayLen {
		t.Errorf("Len = %d, len(Display) = %d", k.Len(), len(k.Display()))
	}
	if got := k.Append([]byte("x")); string(got) != "x"+validCanonical {
		t.Errorf("Append did not append the canonical form")
	}
	k2, _ := ParseKey(validDisplay2)
	if !k.Equal(k) || k.Equal(k2) || k.IsZero() {
		t.Errorf("Equal or IsZero wrong")
	}

	var zero Key
	if zero.Display() != "" || zero.String() != "(no key)" || zero.GoString() != "keygen.Key{}" || !zero.IsZero() {
		t.Errorf("zero Key: Display %q, String %q, GoString %q", zero.Display(), zero.String(), zero.GoString())
	}
}

// noLeak fails if out contains any 4 consecutive random characters of k,
// with or without dashes, in either case, as bytes in decimal or as hex.
func noLeak(t *testing.T, what, out string, k Key) {
	t.Helper()
	plain := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(out))
	for i := ProductCodeLen; i+4 <= KeyLen; i++ {
		w := k[i : i+4]
		dec := strings.Trim(fmt.Sprint([]byte(w)), "[]")
		if strings.Contains(plain, string(w)) || strings.Contains(out, dec) ||
			strings.Contains(strings.ToLower(out), hex.EncodeToString(w)) {
			t.Errorf("%s leaks part of the key", what)
			return
		}
	}
}

func TestKeyNeverPrinted(t *testing.T) {
	k, _ := ParseKey(validDisplay)
	type exported struct{ K Key }
	type withPointer struct{ K *Key }
	exact := map[string]string{
		"%v":   validRedacted,
		"%s":   validRedacted,
		"%+v":  validRedacted,
		"%q":   `"` + validRedacted + `"`,
		"%#v":  `keygen.Key("` + validRedacted + `")`,
		"%40s": "     " + validRedacted,
		"%d":   "%!d(keygen.Key=" + validRedacted + ")",
		"%x":   hex.EncodeToString([]byte(validRedacted)),
	}
	for verb, want := range exact {
		if got := fmt.Sprintf(verb, k); got != want {
			t.Errorf("Sprintf(%q, key) = %q, want %q", verb, got, want)
		}
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%o", "%c", "%U", "%b", "%e", "%t"} {
		for _, v := range []any{k, &k, exported{k}, &exported{k}, withPointer{&k}, []Key{k}, map[string]Key{"a": k}} {
			noLeak(t, fmt.Sprintf("Sprintf(%q, %T)", verb, v), fmt.Sprintf(verb, v), k)
		}
	}
	// %p on a value that is not a pointer makes fmt print the raw value
	// without calling Format (go vet reports such a call); on pointers it
	// prints the address.
	for _, v := range []any{&k, &exported{k}} {
		noLeak(t, fmt.Sprintf("Sprintf(%%p, %T)", v), fmt.Sprintf("%p", v), k)
	}
	noLeak(t, "Sprint", fmt.Sprint(k, &k), k)
	noLeak(t, "Sprintln", fmt.Sprintln(k), k)

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		log := slog.New(h)
		log.Info("minted", "key", k, "ptr", &k, "s", exported{k})
		log.Info("minted", slog.Any("key", k), slog.Group("g", "key", k))
	}
	if !strings.Contains(buf.String(), validRedacted) {
		t.Errorf("slog output does not contain the redacted form")
	}
	noLeak(t, "slog", buf.String(), k)

	if _, err := json.Marshal(k); !errors.Is(err, ErrMarshal) {
		t.Errorf("json.Marshal(key) err = %v, want ErrMarshal", err)
	}
	if _, err := json.Marshal(exported{k}); !errors.Is(err, ErrMarshal) {
		t.Errorf("json.Marshal(struct with key) err = %v, want ErrMarshal", err)
	}
	var got exported
	if err := json.Unmarshal([]byte(`{"K":"`+strings.ToLower(validDisplay)+`"}`), &got); err != nil || got.K != k {
		t.Errorf("json.Unmarshal = %v, %v", got.K, err)
	}
	err := json.Unmarshal([]byte(`{"K":"`+validDisplay[:34]+`H"}`), &got)
	if !errors.Is(err, ErrCheck) {
		t.Errorf("json.Unmarshal of a mistyped key: err = %v, want ErrCheck", err)
	}
}

func TestParseProductCode(t *testing.T) {
	for _, s := range []string{"1AJS2", "1ajs2", "00000", "ZZZZZ"} {
		p, err := ParseProductCode(s)
		if err != nil || p.String() != strings.ToUpper(s) {
			t.Errorf("ParseProductCode(%q) = %v, %v", s, p, err)
		}
	}
	for _, tc := range []struct{ in, msg string }{
		{"", "keygen: invalid product code: length 0, want 5"},
		{"1AJS", "keygen: invalid product code: length 4, want 5"},
		{"1AJS22", "keygen: invalid product code: length 6, want 5"},
		{"1AJ\u00e9", "keygen: invalid product code: invalid character at position 4"},
		{"1AJS-", "keygen: invalid product code: invalid character at position 5"},
		{" 1AJS", "keygen: invalid product code: invalid character at position 1"},
	} {
		p, err := ParseProductCode(tc.in)
		if !errors.Is(err, ErrProductCode) || err.Error() != tc.msg || p != (ProductCode{}) {
			t.Errorf("ParseProductCode(%q) = %v, %q; want error %q", tc.in, p, err, tc.msg)
		}
	}
	if got := (ProductCode{}).String(); got != `"\x00\x00\x00\x00\x00"` {
		t.Errorf("zero ProductCode String = %s", got)
	}

	type config struct{ Product ProductCode }
	var c config
	if err := json.Unmarshal([]byte(`{"Product":"9xk2q"}`), &c); err != nil || c.Product.String() != "9XK2Q" {
		t.Fatalf("json.Unmarshal = %v, %v", c.Product, err)
	}
	if out, err := json.Marshal(c); err != nil || string(out) != `{"Product":"9XK2Q"}` {
		t.Errorf("json.Marshal = %s, %v", out, err)
	}
	if _, err := json.Marshal(config{}); !errors.Is(err, ErrProductCode) {
		t.Errorf("json.Marshal(zero product) err = %v, want ErrProductCode", err)
	}
}

// cycleReader yields 0, 1, ..., 255, 0, 1, ...
type cycleReader struct{ next byte }

func (r *cycleReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.next
		r.next++
	}
	return len(p), nil
}

// countingReader counts the Read calls made on r.
type countingReader struct {
	r     io.Reader
	calls int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.calls++
	return c.r.Read(p)
}

type constReader byte

func (r constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

var testProduct = ProductCode{'1', 'A', 'J', 'S', '2'}

// TestMintRejectionSampling feeds every byte value in turn: the characters
// must be exactly b mod 36 for each b below 252 in order, with 252 to 255
// skipped, so each character is equally likely.
func TestMintRejectionSampling(t *testing.T) {
	const n = 100
	keys, err := MintBatch(testProduct, n, &cycleReader{})
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for b := 0; len(want) < n*RandomLen; b = (b + 1) % 256 {
		if b < 252 {
			want = append(want, alphabet[b%36])
		}
	}
	var got []byte
	for _, k := range keys {
		if _, err := ParseCanonical(k[:]); err != nil {
			t.Fatalf("minted key rejected: %v", err)
		}
		if k.Product() != testProduct {
			t.Fatalf("product %v, want %v", k.Product(), testProduct)
		}
		got = append(got, k[ProductCodeLen:KeyLen-1]...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("random characters are not the rejection-sampled byte stream")
	}

	k, err := Mint(testProduct, &cycleReader{})
	if err != nil || string(k[ProductCodeLen:KeyLen-1]) != alphabet[:RandomLen] {
		t.Fatalf("Mint with a counting source: %v", err)
	}
}

func TestMint(t *testing.T) {
	a, err := Mint(testProduct, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Mint(testProduct, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two keys from crypto/rand are equal")
	}
	if back, err := ParseKey(a.Display()); err != nil || back != a {
		t.Fatalf("minted key does not parse back: %v", err)
	}

	seen := make(map[Key]bool)
	keys, err := MintBatch(testProduct, 2000, nil)
	if err != nil || len(keys) != 2000 {
		t.Fatalf("MintBatch = %d keys, %v", len(keys), err)
	}
	for _, k := range keys {
		if _, err := ParseCanonical(k[:]); err != nil || k.Product() != testProduct || seen[k] {
			t.Fatalf("bad or repeated key in batch: %v", err)
		}
		seen[k] = true
	}
	if keys, err := MintBatch(testProduct, 0, nil); err != nil || len(keys) != 0 {
		t.Errorf("MintBatch(0) = %d keys, %v", len(keys), err)
	}
}

func TestMintErrors(t *testing.T) {
	lower := ProductCode{'1', 'a', 'j', 's', '2'}
	for _, p := range []ProductCode{{}, lower} {
		if _, err := Mint(p, nil); err != ErrProductCode {
			t.Errorf("Mint(%v) err = %v, want ErrProductCode", p, err)
		}
		if _, err := MintBatch(p, 1, nil); err != ErrProductCode {
			t.Errorf("MintBatch(%v) err = %v, want ErrProductCode", p, err)
		}
	}
	for _, n := range []int{-1, MaxBatch + 1, -1 << 62} {
		if keys, err := MintBatch(testProduct, n, nil); !errors.Is(err, ErrBatchSize) || keys != nil {
			t.Errorf("MintBatch(n=%d) = %d keys, %v; want ErrBatchSize", n, len(keys), err)
		}
	}
	short := io.LimitReader(rand.NewChaCha8([32]byte{}), 10)
	if k, err := Mint(testProduct, short); !errors.Is(err, ErrRandom) || !errors.Is(err, io.ErrUnexpectedEOF) || !k.IsZero() {
		t.Errorf("Mint(short reader) = %v, %v; want ErrRandom wrapping io.ErrUnexpectedEOF", k, err)
	}
	short = io.LimitReader(rand.NewChaCha8([32]byte{}), 1000)
	if keys, err := MintBatch(testProduct, 100, short); !errors.Is(err, ErrRandom) || keys != nil {
		t.Errorf("MintBatch(short reader) = %d keys, %v; want ErrRandom", len(keys), err)
	}
	// A source stuck on a rejected value must fail, not loop forever.
	if _, err := Mint(testProduct, constReader(0xff)); !errors.Is(err, ErrRandom) {
		t.Errorf("Mint(all 0xff) err = %v, want ErrRandom", err)
	}
	if _, err := MintBatch(testProduct, 10, constReader(0xfc)); !errors.Is(err, ErrRandom) {
		t.Errorf("MintBatch(all 0xfc) err = %v, want ErrRandom", err)
	}
}

// TestMintBatchReadsInBulk checks that randomness is read in large blocks,
// not a read per key or per character.
func TestMintBatchReadsInBulk(t *testing.T) {
	for _, tc := range []struct{ n, maxReads int }{{1, 1}, {1000, 1}, {10000, 5}} {
		r := &countingReader{r: rand.NewChaCha8([32]byte{byte(tc.n)})}
		if _, err := MintBatch(testProduct, tc.n, r); err != nil {
			t.Fatal(err)
		}
		if r.calls > tc.maxReads {
			t.Errorf("MintBatch(%d) made %d reads, want at most %d", tc.n, r.calls, tc.maxReads)
		}
	}
}

const goldenFile = "testdata/golden_keys.txt"

// goldenKeys mints keys from fixed ChaCha8 seeds. They change only if the
// alphabet, the sampling, the check character or the order in which bytes
// are consumed changes: any of these breaks compatibility with keys out in
// the world.
func goldenKeys(t *testing.T) []Key {
	var keys []Key
	for i, code := range []string{"1AJS2", "00000", "ZZZZZ", "9XK2Q"} {
		p, err := ParseProductCode(code)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.NewChaCha8([32]byte{'g', 'o', 'l', 'd', 'e', 'n', byte(i)})
		for range 2 {
			k, err := Mint(p, r)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		batch, err := MintBatch(p, 3, r)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, batch...)
	}
	return keys
}

func TestGolden(t *testing.T) {
	keys := goldenKeys(t)
	if *update {
		var b bytes.Buffer
		b.WriteString("# Test keys minted from fixed ChaCha8 seeds by goldenKeys in key_test.go.\n")
		b.WriteString("# Not licenses. Regenerate with: go test ./keygen -run TestGolden -update\n")
		for _, k := range keys {
			b.WriteString(k.Display() + "\n")
		}
		if err := os.WriteFile(goldenFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			lines = append(lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(lines) != len(keys) {
		t.Fatalf("%s has %d keys, want %d (run with -update)", goldenFile, len(lines), len(keys))
	}
	for i, line := range lines {
		// Report only the line number: the keys are test keys, but tests
		// print no keys at all.
		if line != keys[i].Display() {
			t.Errorf("%s: key %d differs from what Mint makes now (run with -update if intended)", goldenFile, i+1)
		}
		if _, err := ParseKey(line); err != nil {
			t.Errorf("%s: key %d does not parse: %v", goldenFile, i+1, err)
		}
	}
}

// digitRun finds the numbers in an error message, to reduce it to its
// template.
var digitRun = regexp.MustCompile(`[0-9]+`)

var parseKeyTemplates = map[string]bool{
	"keygen: invalid character at position N":                true,
	"keygen: wrong key length: key has N characters, want N": true,
	ErrCheck.Error(): true,
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{
		validDisplay, validCanonical, validDisplay2, validDisplay3,
		strings.ToLower(validDisplay), " 1ajs2 YECR7 9hr24 V7KYU z3dsa 1DWGG ",
		"", "-", validDisplay[:34], validDisplay + "G", validDisplay[:34] + "H",
		"1AJS2-EYCR7-9HR24-V7KYU-Z3DSA-1DWGG", strings.ReplaceAll(validDisplay, "-", "_"),
		strings.Replace(validDisplay, "K", "\u212a", 1), validDisplay + "\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err != nil {
			if !k.IsZero() {
				t.Fatalf("non-zero key returned with error %v", err)
			}
			if !parseKeyTemplates[digitRun.ReplaceAllString(err.Error(), "N")] {
				t.Fatalf("unexpected error text %q", err)
			}
			if !errors.Is(err, ErrLength) && !errors.Is(err, ErrCharacter) && !errors.Is(err, ErrCheck) {
				t.Fatalf("error %v wraps no parse sentinel", err)
			}
			return
		}
		canon := k.Append(nil)
		if back, err := ParseCanonical(canon); err != nil || back != k {
			t.Fatalf("canonical form does not parse back: %v", err)
		}
		if back, err := ParseKey(k.Display()); err != nil || back != k {
			t.Fatalf("Display does not parse back: %v", err)
		}
		stripped := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s))
		if stripped != string(canon) {
			t.Fatalf("canonical form is not the input without dashes and spaces, upper-cased")
		}
	})
}

func FuzzParseCanonical(f *testing.F) {
	for _, s := range []string{
		validCanonical, "1AJS2C068Y4OMVEDIK113TN8919AMM", "1AJS2ISKT6Y7TUME7AAC9MRIOOHAZ9",
		"", validCanonical[:29], validCanonical + "G", validCanonical[:29] + "H",
		strings.ToLower(validCanonical), validDisplay,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseCanonical(b)
		if err != nil {
			if !k.IsZero() {
				t.Fatalf("non-zero key returned with error %v", err)
			}
			if err != ErrLength && err != ErrCharacter && err != ErrCheck {
				t.Fatalf("error %v is not exactly a parse sentinel", err)
			}
			// If ParseKey reads b as a key whose canonical form is b, then
			// b was canonical and ParseCanonical was wrong to refuse it.
			if pk, err2 := ParseKey(string(b)); err2 == nil && bytes.Equal(pk.Append(nil), b) {
				t.Fatalf("canonical key refused: %v", err)
			}
			return
		}
		if !bytes.Equal(k.Append(nil), b) {
			t.Fatalf("accepted input is not the canonical form of the key it returned")
		}
	})
}

func BenchmarkMintBatch10000(b *testing.B) {
	b.ReportAllocs()
	const n = 10000
	iters := 0
	for b.Loop() {
		if _, err := MintBatch(testProduct, n, nil); err != nil {
			b.Fatal(err)
		}
		iters++
	}
	b.ReportMetric(float64(n*iters)/b.Elapsed().Seconds(), "keys/s")
}

func BenchmarkMint(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Mint(testProduct, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseKey(validDisplay); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCanonical(b *testing.B) {
	b.ReportAllocs()
	canon := []byte(validCanonical)
	for b.Loop() {
		if _, err := ParseCanonical(canon); err != nil {
			b.Fatal(err)
		}
	}
}
