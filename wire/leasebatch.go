package wire

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"math/bits"

	"github.com/tollgate/tollgate/keygen/composite"
)

// Batch-signed lease constants. Part of the wire format.
const (
	// MaxLeaseBatch is the most leases one batch signature covers.
	MaxLeaseBatch = 64
	// LeaseHashSize is the size of a hash of a batch's tree: SHA-256.
	LeaseHashSize = sha256.Size
	// LeaseBatchContext is the composite signature context of a batch
	// root, so that a batch signature can never be taken for a lease's own
	// signature (LeaseContext) or the other way round.
	LeaseBatchContext = "tollgate-lease-batch-v1"
)

// Domain separation of the tree's hashes (RFC 6962, section 2.1): a leaf
// can never be taken for an inner node.
const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

// proofFixed is the size of a proof without its path: size, index, count.
const proofFixed = 2 + 2 + 1

// batchMessageSize is the size of what a batch signature signs: the tree
// size and the root.
const batchMessageSize = 2 + LeaseHashSize

// leaseBatchContext is LeaseBatchContext as the bytes Sign and Verify take.
var leaseBatchContext = []byte(LeaseBatchContext)

// LeaseProof places a batch-signed lease in its batch: the gateway signs
// many leases at once by signing the root of a Merkle tree of them, and
// each lease carries the path from its leaf to that root.
//
// Encoding, after a batch-signed lease's key id and before its signature
// (the version byte of such a lease has LeaseBatched set):
//
//	+----------+-----------+-----------+--------------------+-----------+
//	| size u16 | index u16 | count u8  | path (32 x count)  | signature |
//	+----------+-----------+-----------+--------------------+-----------+
//
// Size is the number of leases in the batch, 2..MaxLeaseBatch (a lease
// signed alone has no proof); index is the lease's place in it, below
// size; count is the number of hashes of the path, which size and index
// fix (6 for every lease of a batch of 64, 1 or 2 in a batch of 3): any
// other count is ErrNonCanonical. The tree is RFC 6962's (section 2.1)
// over SHA-256, so sizes that are not powers of two have one shape: a
// leaf's hash is SHA-256(0x00 || the lease's bytes from the magic to the
// key id, its version byte included), a node's SHA-256(0x01 || left ||
// right), and the path lists the siblings from the leaf up (RFC 6962,
// section 2.1.1). The signature is the composite signature of (size u16 ||
// root) under the context LeaseBatchContext, by the key of the lease's key
// id. The size is signed, and with it the index, which decides at each
// level which side the path's hash is on.
type LeaseProof struct {
	Size  uint16 // leases in the batch; 0 for a lease signed alone
	Index uint16 // the lease's place in the batch
	// Path is the sibling hashes from the leaf up, LeaseHashSize bytes
	// each. Parsed, it points into the input.
	Path []byte
}

// leasePathLen returns how many hashes the path of leaf index in a tree
// of size leaves has (RFC 6962, PATH(m, D[n])). index < size.
func leasePathLen(index, size int) int {
	n := 0
	for size > 1 {
		k := splitPoint(size)
		if index < k {
			size = k
		} else {
			index, size = index-k, size-k
		}
		n++
	}
	return n
}

// splitPoint returns the largest power of two below n, n >= 2.
func splitPoint(n int) int { return 1 << (bits.Len(uint(n-1)) - 1) }

// parse reads a proof after a batch-signed lease's key id.
func (p *LeaseProof) parse(d *decoder) error {
	p.Size = d.u16()
	p.Index = d.u16()
	count := int(d.u8())
	if d.err != nil {
		return nil // the caller's d.end reports it
	}
	if err := p.checkShape(); err != nil {
		return err
	}
	if want := leasePathLen(int(p.Index), int(p.Size)); count != want {
		return fmt.Errorf("%w: lease proof of %d hashes, its size and index give %d", ErrNonCanonical, count, want)
	}
	p.Path = d.take(count * LeaseHashSize)
	return nil
}

// checkShape checks the size and index of a proof that has a size.
func (p *LeaseProof) checkShape() error {
	switch {
	case p.Size < 2:
		return fmt.Errorf("%w: lease batch of %d; a lease alone is signed alone", ErrNonCanonical, p.Size)
	case p.Size > MaxLeaseBatch:
		return fmt.Errorf("%w: lease batch of %d > %d", ErrInvalidField, p.Size, MaxLeaseBatch)
	case p.Index >= p.Size:
		return fmt.Errorf("%w: lease batch index %d of %d", ErrInvalidField, p.Index, p.Size)
	}
	return nil
}

// check reports whether p encodes as ParseLease would read it back: zero,
// or a size, index and path that fit one another.
func (p *LeaseProof) check() error {
	if p.Size == 0 {
		if p.Index != 0 || p.Path != nil {
			return fmt.Errorf("%w: lease proof with an index or path but no size", ErrInvalidField)
		}
		return nil
	}
	if err := p.checkShape(); err != nil {
		return err
	}
	if want := leasePathLen(int(p.Index), int(p.Size)) * LeaseHashSize; len(p.Path) != want {
		return fmt.Errorf("%w: lease proof path of %d bytes, its size and index give %d", ErrNonCanonical, len(p.Path), want)
	}
	return nil
}

// len returns the encoded size of p: 0 when it is zero.
func (p *LeaseProof) len() int {
	if p.Size == 0 {
		return 0
	}
	return proofFixed + len(p.Path)
}

// append appends the encoding of p: nothing when it is zero.
func (p *LeaseProof) append(b []byte) []byte {
	if p.Size == 0 {
		return b
	}
	b = binary.BigEndian.AppendUint16(b, p.Size)
	b = binary.BigEndian.AppendUint16(b, p.Index)
	b = append(b, byte(len(p.Path)/LeaseHashSize))
	return append(b, p.Path...)
}

// message computes the root that leaf (the lease's bytes from the magic to
// the key id) and p's path lead to (RFC 9162, section 2.1.3.2), and returns
// what the batch signature must sign, in buf. p is well-formed (parsed).
func (p *LeaseProof) message(buf *[batchMessageSize]byte, leaf []byte) []byte {
	h := sha256.New()
	h.Write([]byte{leafPrefix})
	h.Write(leaf)
	var r [LeaseHashSize]byte
	h.Sum(r[:0])
	fn, sn := uint(p.Index), uint(p.Size)-1
	for i := 0; i+LeaseHashSize <= len(p.Path); i += LeaseHashSize {
		sib := p.Path[i : i+LeaseHashSize]
		h.Reset()
		h.Write([]byte{nodePrefix})
		if fn&1 == 1 || fn == sn {
			h.Write(sib)
			h.Write(r[:])
			for fn&1 == 0 && fn != 0 {
				fn, sn = fn>>1, sn>>1
			}
		} else {
			h.Write(r[:])
			h.Write(sib)
		}
		h.Sum(r[:0])
		fn, sn = fn>>1, sn>>1
	}
	// The path's length was checked against size and index when parsed,
	// which is what leaves sn at 0 here.
	binary.BigEndian.PutUint16(buf[:2], p.Size)
	copy(buf[2:], r[:])
	return buf[:]
}

// SignLeaseBatch signs leases with one signature: it sets each one's
// Scheme, KeyID and Proof from k and its place in the batch, checks it,
// builds the Merkle tree of them, signs its root and returns each lease's
// encoding, in order; each lease's Proof.Path and Sig then point into its
// encoding. One lease is signed alone, as SignLease does; more than
// MaxLeaseBatch, or none, is an error. It refuses (with the error
// ParseLease would give, saying which lease) a batch with a lease no app
// could read; on error every lease is unchanged.
func SignLeaseBatch(leases []*Lease, k *composite.PrivateKey) ([][]byte, error) {
	switch n := len(leases); {
	case n == 0 || n > MaxLeaseBatch:
		return nil, fmt.Errorf("wire: signing a batch of %d leases: %w", n, ErrInvalidField)
	case n == 1:
		b, err := SignLease(leases[0], k)
		if err != nil {
			return nil, err
		}
		return [][]byte{b}, nil
	}
	pub := k.Public()
	if pub == nil {
		return nil, fmt.Errorf("wire: signing leases: %w", composite.ErrNilKey)
	}
	n := len(leases)
	us := make([]Lease, n)
	out := make([][]byte, n)
	level := make([][LeaseHashSize]byte, n)
	sigSize := pub.Scheme().SignatureSize()
	h := sha256.New()
	for i, l := range leases {
		u := &us[i]
		*u = *l
		u.Scheme, u.KeyID, u.Sig = pub.Scheme(), pub.ID(), nil
		u.Proof = LeaseProof{Size: uint16(n), Index: uint16(i)}
		if err := u.checkFields(); err != nil {
			return nil, fmt.Errorf("lease %d of the batch: %w", i, err)
		}
		count := leasePathLen(i, n)
		b := u.appendSigned(make([]byte, 0, u.signedLen()+proofFixed+count*LeaseHashSize+sigSize))
		h.Reset()
		h.Write([]byte{leafPrefix})
		h.Write(b)
		h.Sum(level[i][:0])
		out[i] = b
	}
	root := batchTree(h, level, out)
	var msg [batchMessageSize]byte
	binary.BigEndian.PutUint16(msg[:2], uint16(n))
	copy(msg[2:], root[:])
	sig, err := k.Sign(msg[:], leaseBatchContext)
	if err != nil {
		return nil, fmt.Errorf("wire: signing leases: %w", err)
	}
	for i := range us {
		u := &us[i]
		b := out[i]
		// batchTree appended the path after the leaf's bytes; the proof's
		// fixed fields go before it.
		leaf := u.signedLen()
		path := b[leaf:]
		b = b[:leaf+proofFixed+len(path)]
		copy(b[leaf+proofFixed:], path)
		binary.BigEndian.PutUint16(b[leaf:], u.Proof.Size)
		binary.BigEndian.PutUint16(b[leaf+2:], u.Proof.Index)
		b[leaf+4] = byte(len(path) / LeaseHashSize)
		u.Proof.Path = b[leaf+proofFixed:]
		b = append(b, sig...)
		u.Sig = b[len(b)-len(sig):]
		out[i] = b
	}
	for i, l := range leases {
		*l = us[i]
	}
	return out, nil
}

// batchTree returns the root of the RFC 6962 tree over the leaf hashes
// hs, and appends to each out[i] the path of leaf i, siblings from the
// leaf up.
func batchTree(h hash.Hash, hs [][LeaseHashSize]byte, out [][]byte) [LeaseHashSize]byte {
	if len(hs) == 1 {
		return hs[0]
	}
	k := splitPoint(len(hs))
	left := batchTree(h, hs[:k], out[:k])
	right := batchTree(h, hs[k:], out[k:])
	for i := range out[:k] {
		out[i] = append(out[i], right[:]...)
	}
	for i := k; i < len(out); i++ {
		out[i] = append(out[i], left[:]...)
	}
	var r [LeaseHashSize]byte
	h.Reset()
	h.Write([]byte{nodePrefix})
	h.Write(left[:])
	h.Write(right[:])
	h.Sum(r[:0])
	return r
}
