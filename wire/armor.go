package wire

import (
	"encoding/base64"
	"fmt"
)

// Lease armor, the text form of a lease for files, e-mail and clipboards.
// Part of the lease format:
//
//	-----BEGIN TOLLGATE LEASE-----
//	<standard padded base64, 64 characters a line, the last line 1..64>
//	-----END TOLLGATE LEASE-----
//
// Every line ends with "\n".
const (
	leaseArmorHeader = "-----BEGIN TOLLGATE LEASE-----"
	leaseArmorFooter = "-----END TOLLGATE LEASE-----"
	leaseArmorWidth  = 64 // characters of base64 a full line holds
)

// leaseArmorChunk is how many bytes one full line encodes.
const leaseArmorChunk = leaseArmorWidth / 4 * 3

// leaseB64 rejects padding bits that are not zero, so that each lease has
// one armor.
var leaseB64 = base64.StdEncoding.Strict()

// ArmorLease returns the armored text of an encoded lease. Empty input gives
// an armor with no body, which DearmorLease refuses.
func ArmorLease(b []byte) []byte { return armor(leaseArmorHeader, leaseArmorFooter, b) }

// armor returns b armored between the lines header and footer, as
// ArmorLease describes. The offline request and release files
// (offline.go) are armored the same way under labels of their own.
func armor(header, footer string, b []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(b))
	lines := (n + leaseArmorWidth - 1) / leaseArmorWidth
	out := make([]byte, 0, len(header)+1+n+lines+len(footer)+1)
	out = append(out, header...)
	out = append(out, '\n')
	for len(b) > 0 {
		chunk := b[:min(len(b), leaseArmorChunk)]
		out = leaseB64.AppendEncode(out, chunk)
		out = append(out, '\n')
		b = b[len(chunk):]
	}
	out = append(out, footer...)
	return append(out, '\n')
}

// DearmorLease returns the lease bytes in armored text. It is strict, so
// that a lease has one text form and junk is never half-read: the exact
// header and footer lines; body lines of exactly 64 characters but the
// last, which has 1 to 64; the standard base64 alphabet, padded, with zero
// padding bits; nothing before the header or after the footer. It
// tolerates "\r\n" for "\n" (a file that went through Windows) and a
// missing newline after the footer. Every failure is ErrArmor, wrapped to
// say what is wrong.
func DearmorLease(text []byte) ([]byte, error) {
	return dearmor(leaseArmorHeader, leaseArmorFooter, text)
}

// dearmor is DearmorLease for the armor between the lines header and
// footer.
func dearmor(header, footer string, text []byte) ([]byte, error) {
	line, rest, ended := leaseArmorLine(text)
	if !ended || string(line) != header {
		return nil, fmt.Errorf("%w: first line is not %q", ErrArmor, header)
	}
	out := make([]byte, 0, base64.StdEncoding.DecodedLen(len(rest)))
	last := false // the previous body line was the last one it may be
	for i := 2; ; i++ {
		line, rest, ended = leaseArmorLine(rest)
		if string(line) == footer {
			break
		}
		if !ended {
			return nil, fmt.Errorf("%w: no %q line", ErrArmor, footer)
		}
		if last {
			return nil, fmt.Errorf("%w: line %d follows a short or padded line", ErrArmor, i)
		}
		if len(line) == 0 || len(line) > leaseArmorWidth || len(line)%4 != 0 {
			return nil, fmt.Errorf("%w: line %d is %d characters", ErrArmor, i, len(line))
		}
		for j, c := range line {
			// The decoder skips '\r' and '\n' silently: only the alphabet
			// and trailing padding may pass.
			if !leaseB64Char[c] && (c != '=' || j < len(line)-2) {
				return nil, fmt.Errorf("%w: line %d has a character outside base64 at column %d", ErrArmor, i, j+1)
			}
		}
		last = len(line) < leaseArmorWidth || line[len(line)-1] == '='
		var err error
		if out, err = leaseB64.AppendDecode(out, line); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrArmor, i, err)
		}
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: text after the footer", ErrArmor)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrArmor)
	}
	return out, nil
}

// leaseArmorLine splits the first line off b. The line loses its "\n" or
// "\r\n"; ended reports whether it had one.
func leaseArmorLine(b []byte) (line, rest []byte, ended bool) {
	for i, c := range b {
		if c == '\n' {
			line = b[:i]
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			return line, b[i+1:], true
		}
	}
	return b, nil, false
}

// leaseB64Char marks the standard base64 alphabet.
var leaseB64Char = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" {
		t[c] = true
	}
	return t
}()
