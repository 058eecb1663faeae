package clients

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/wire"
)

// TestBatchLeaseOffline checks a lease the gateway signed in a batch of
// 64 (wire.SignLeaseBatch) as an app offline does: saved in the state
// directory, read back by a Licensee opened on it, and judged by
// CheckOffline with the gateway unreachable. It is allowed; the same lease
// with a path hash, its index or its size changed, or with another
// lease's path, is refused as altered.
func TestBatchLeaseOffline(t *testing.T) {
	k := trustKey(t, "batch")
	var dir string
	first := localLicensee(t, k, func(c *LicenseeConfig) { dir = c.StateDir })
	const mine = 37
	ls := make([]*wire.Lease, wire.MaxLeaseBatch)
	for i := range ls {
		l := &wire.Lease{Issued: locNow - 100, LeaseExpiry: locNow + 30*86400, Level: wire.LevelLeaseOnly, ServerTime: locNow - 100}
		copy(l.Product[:], "1AJS2")
		rand.Read(l.LicenseID[:])
		rand.Read(l.Nonce[:])
		rand.Read(l.InstallKeyHash[:])
		l.Fingerprint = first.Fingerprint()
		ls[i] = l
	}
	ls[mine].InstallKeyHash = first.client.InstallID()
	license := ls[mine].LicenseID
	bs, err := wire.SignLeaseBatch(ls, k)
	if err != nil {
		t.Fatal(err)
	}
	good := bs[mine]
	if good[len(wire.LeaseMagic)]&wire.LeaseBatched == 0 || ls[mine].Proof.Size != wire.MaxLeaseBatch {
		t.Fatalf("not a batch-signed lease")
	}
	first.Close()

	// offline saves lease as the state's lease of license, opens a new
	// Licensee on the directory and decides offline.
	offline := func(lease []byte) Decision {
		t.Helper()
		st, damaged, err := LoadState(dir)
		if err != nil || damaged != nil {
			t.Fatalf("LoadState: %v, damaged %v", err, damaged)
		}
		st.HasLicense, st.LicenseID, st.Product, st.Lease, st.Trusted = true, license, "1AJS2", lease, locNow-100
		if err := st.Save(); err != nil {
			t.Fatal(err)
		}
		l := localLicensee(t, k, func(c *LicenseeConfig) { c.StateDir = dir })
		defer l.Close()
		if !bytes.Equal(l.st.Lease, lease) {
			t.Fatalf("the state read back another lease")
		}
		return l.CheckOffline()
	}
	if d := offline(good); !d.Allowed || d.Reason != ReasonOffline {
		t.Fatalf("a batch-signed lease offline: %+v", d)
	}

	proof := len(good) - len(ls[mine].Sig) - len(ls[mine].Proof.Path) - 5 // size u16, index u16, count u8
	other := bs[mine+1]
	otherProof := len(other) - len(ls[mine+1].Sig) - len(ls[mine+1].Proof.Path) - 5
	tamper := func(edit func(b []byte) []byte) []byte { return edit(bytes.Clone(good)) }
	for _, tc := range []struct {
		name  string
		lease []byte
	}{
		{"first path hash", tamper(func(b []byte) []byte { b[proof+5] ^= 1; return b })},
		{"last path hash", tamper(func(b []byte) []byte { b[proof+5+5*wire.LeaseHashSize+31] ^= 0x80; return b })},
		{"index", tamper(func(b []byte) []byte { binary.BigEndian.PutUint16(b[proof+2:], mine+1); return b })},
		{"size", tamper(func(b []byte) []byte { binary.BigEndian.PutUint16(b[proof:], 63); return b })},
		{"the next lease's path", tamper(func(b []byte) []byte {
			copy(b[proof+5:], other[otherProof+5:otherProof+5+6*wire.LeaseHashSize])
			return b
		})},
	} {
		d := offline(tc.lease)
		if d.Allowed || d.Reason != ReasonLeaseInvalid || !errors.Is(d.Err, ErrLease) {
			t.Errorf("%s changed: %+v; want %s", tc.name, d, ReasonLeaseInvalid)
		}
	}
	// And the good lease again, from the same directory.
	if d := offline(good); !d.Allowed {
		t.Fatalf("the batch-signed lease saved again: %+v", d)
	}
	// The client's own check of the lease: every key it trusts.
	if _, err := wire.VerifyLease(good, []*composite.PublicKey{k.Public()}); err != nil {
		t.Fatal(err)
	}
}
