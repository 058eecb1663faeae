package clients

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/tollgate/tollgate/internal/atomicfile"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// Machines that never go online (wire/offline.go): RequestOffline writes
// an activation request to carry to the gateway's operator or the
// vendor's portal, ImportLease installs the lease they answer with, and
// ReleaseOffline gives the license up with a proof the operator imports
// to free the seat.

// State files of air-gapped activations.
const (
	// FilePending holds the nonces of the activation requests written
	// here and not answered yet, one hex nonce a line, newest last: an
	// imported lease must answer one of them.
	FilePending = "offline-requests"
	// FileReleaseProof keeps the last release proof written, armored, so
	// that a proof lost on its way out can be written again.
	FileReleaseProof = "release-proof"
)

// maxPending bounds the requests kept pending: a request older than the
// last maxPending is no longer answered here.
const maxPending = 8

// ReasonRequestMismatch: the lease being imported does not answer an
// activation request written on this installation (another request's
// answer, an answer already imported, or a lease from elsewhere).
const ReasonRequestMismatch Reason = "request-mismatch"

func init() {
	messages[ReasonRequestMismatch] = [2]string{
		"This license file does not answer an activation request made by this installation (it answers another request, or was imported already).",
		"Make the activation request again here ('request'), have it answered, and import that answer.",
	}
}

// RequestOffline writes an activation request for key on this machine,
// to be answered by the license server without this machine ever reaching
// it: it returns the armored request and notes its nonce in the state
// directory, so that ImportLease knows its answer. The key is sealed to
// the gateway of the card: whoever carries the file cannot read it.
func (l *Licensee) RequestOffline(key keygen.Key) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if key.Product().String() != l.cfg.Product {
		return nil, fmt.Errorf("%w: the key is for product %s, this program is product %s", ErrConfig, key.Product(), l.cfg.Product)
	}
	if st := l.st; st.HasLicense && st.Product != l.cfg.Product {
		return nil, fmt.Errorf("%w: this license folder already holds the license of product %s; release it first, or keep this product's license in a folder of its own", ErrConfig, st.Product)
	}
	now := l.cfg.Now()
	r := wire.OfflineRequest{Created: max(now.Unix(), 1), Fingerprint: l.Fingerprint(),
		Hostname: []byte(shortText(l.cfg.Hostname, wire.MaxHostnameLen)), AppVersion: []byte(l.cfg.AppVersion)}
	copy(r.Product[:], l.cfg.Product)
	rand.Read(r.Nonce[:])
	k := [wire.KeySize]byte(key)
	defer clear(k[:])
	priv := [32]byte(l.st.InstallKey)
	defer clear(priv[:])
	b, err := wire.SealOfflineRequest(&r, &k, &priv, &l.cfg.Card.NoiseKey)
	if err != nil {
		return nil, fmt.Errorf("%w: the activation request: %w", ErrConfig, err)
	}
	pending := append(l.pending(), r.Nonce)
	if len(pending) > maxPending {
		pending = pending[len(pending)-maxPending:]
	}
	if err := l.savePending(pending); err != nil {
		return nil, err
	}
	return wire.ArmorOfflineRequest(b), nil
}

// shortText cuts s to at most n bytes, at a character boundary.
func shortText(s string, n int) string {
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// pending returns the nonces of the requests not answered yet; a damaged
// file reads as none.
func (l *Licensee) pending() [][wire.NonceSize]byte {
	b, ok := readState(l.st.Dir, FilePending)
	if !ok {
		return nil
	}
	var out [][wire.NonceSize]byte
	for _, f := range strings.Fields(string(b)) {
		n, err := hex.DecodeString(f)
		if err != nil || len(n) != wire.NonceSize {
			return nil
		}
		out = append(out, [wire.NonceSize]byte(n))
	}
	return out
}

// savePending writes the pending nonces, or removes the file for none.
func (l *Licensee) savePending(ns [][wire.NonceSize]byte) error {
	path := filepath.Join(l.st.Dir, FilePending)
	if len(ns) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("clients: %w", err)
		}
		return nil
	}
	var b bytes.Buffer
	for _, n := range ns {
		b.WriteString(hex.EncodeToString(n[:]) + "\n")
	}
	if err := atomicfile.Write(path, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("clients: save %s: %w", FilePending, err)
	}
	return nil
}

// ImportLease installs the armored lease the license server answered an
// activation request of this installation with (RequestOffline). The
// lease must verify under the card's lease keys (else ReasonWrongCard, or
// ReasonLeaseInvalid for an altered file), be for this installation
// (ReasonLeaseForeign), this product (ReasonWrongProduct), this machine
// (ReasonOtherMachine) and answer a request made here
// (ReasonRequestMismatch). It is then kept as Activate keeps the lease of
// an online activation, and Check works offline by the lease's level.
func (l *Licensee) ImportLease(armored []byte) Decision {
	return l.localized(l.importLease(armored))
}

func (l *Licensee) importLease(armored []byte) Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	raw, err := wire.DearmorLease(armored)
	if err != nil {
		d := refuse(ReasonLeaseInvalid, fmt.Errorf("%w: %w", ErrLease, err))
		d.Message, d.Action = "This is not a license file (its -----BEGIN TOLLGATE LEASE----- text is damaged or missing).", "Bring the license file the license server answered the activation request with, unchanged."
		return d
	}
	// As a lease from the gateway: signed by a key of the card or one
	// learned, not retired by the trusted clock, or introduced by the
	// statement it carries (a rotated key).
	lease, err := l.client.trust.verifyNew(raw)
	switch {
	case errors.Is(err, wire.ErrLeaseKey):
		return refuse(ReasonWrongCard, fmt.Errorf("%w: %w: %w", ErrLease, ErrWrongCard, err))
	case err != nil:
		d := refuse(ReasonLeaseInvalid, fmt.Errorf("%w: %w", ErrLease, err))
		d.Message = "This license file has been altered or is not from this vendor's license server."
		d.Action = "Bring the license file the license server answered the activation request with, unchanged."
		return d
	}
	if lease.InstallKeyHash != l.client.InstallID() {
		d := refuse(ReasonLeaseForeign, ErrLease)
		d.Message = "This license file answers another installation's activation request."
		d.Action = "Import it on the computer (and in the program) that made the request; for this one, make a request here."
		return d
	}
	if string(lease.Product[:]) != l.cfg.Product && !lease.HasProduct([wire.ProductSize]byte([]byte(l.cfg.Product))) {
		return refuse(ReasonWrongProduct, ErrLease)
	}
	fp := l.Fingerprint()
	if _, same := lease.Fingerprint.Match(&fp); !same {
		return refuse(ReasonOtherMachine, ErrLease)
	}
	pending := l.pending()
	found := false
	for _, n := range pending {
		found = found || n == lease.Nonce
	}
	if !found {
		return refuse(ReasonRequestMismatch, ErrLease)
	}
	st := l.st
	if st.HasLicense && (st.Product != l.cfg.Product || st.LicenseID != lease.LicenseID) {
		d := refuse(ReasonOtherLicense, nil)
		d.Message = fmt.Sprintf("This license folder already holds license %x (product %s); importing another would leave its seat taken on the license server.", st.LicenseID, st.Product)
		d.Action = "Release that license first ('release'), give its release proof to the vendor, then import this one."
		return d
	}
	now := l.cfg.Now()
	if d, back := l.ratchet(now); back {
		return d
	}
	st.LicenseID, st.HasLicense, st.Product, st.Lease = lease.LicenseID, true, l.cfg.Product, raw
	st.LastContact = now.Unix()
	st.Trusted = max(st.Trusted, lease.ServerTime)
	st.Counter = max(st.Counter, lease.Counter)
	// decideLocal, not offline: a clock far behind the server's time in
	// the lease is told now, not at the next check.
	d := l.decideLocal(now)
	if d.Allowed {
		d.Reason, d.Message = ReasonOK, "The license is activated on this machine (answered offline)."
	}
	if err := st.Save(); err != nil {
		d.Warning = "The license is active, but it could not be saved on this computer: import the license file again."
		d.Err = err
		return d
	}
	// The request is answered: no other answer to it, nor to an older
	// one, is taken after this.
	if err := l.savePending(nil); err != nil && d.Err == nil {
		d.Err = err
	}
	return d
}

// ReleaseOffline gives the license held here up without the license
// server: it forgets the license in the state directory first, then
// returns the armored release proof, to be carried to the vendor, whose
// import frees this machine's seat. The proof is kept in the state
// directory too: with no license held, ReleaseOffline returns the last
// proof again (a proof lost on its way out is never a seat lost).
func (l *Licensee) ReleaseOffline() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.st
	proofPath := filepath.Join(st.Dir, FileReleaseProof)
	if !st.HasLicense {
		if b, ok := readState(st.Dir, FileReleaseProof); ok {
			return b, nil
		}
		return nil, fmt.Errorf("%w: no license is activated here", ErrConfig)
	}
	lease, _, err := wire.ParseLease(st.Lease)
	if err != nil || lease.LicenseID != st.LicenseID {
		return nil, fmt.Errorf("%w: the license held here has no usable lease to release; ask the vendor to free this machine's seat ('tollgate license deactivate-machine')", ErrLease)
	}
	r := wire.OfflineRelease{LicenseID: st.LicenseID, LeaseIssued: lease.Issued, Created: max(l.cfg.Now().Unix(), 1)}
	rand.Read(r.Nonce[:])
	priv := [32]byte(st.InstallKey)
	defer clear(priv[:])
	b, err := wire.SignOfflineRelease(&r, &priv, &l.cfg.Card.NoiseKey)
	if err != nil {
		return nil, fmt.Errorf("%w: the release proof: %w", ErrConfig, err)
	}
	text := wire.ArmorOfflineRelease(b)
	if err := atomicfile.Write(proofPath, text, 0o600); err != nil {
		return nil, fmt.Errorf("clients: save %s: %w", FileReleaseProof, err)
	}
	held, lease0 := st.HasLicense, st.Lease
	st.HasLicense, st.Lease = false, nil
	if err := st.Save(); err != nil {
		// The license stays: no proof goes out while it is usable here.
		st.HasLicense, st.Lease = held, lease0
		return nil, err
	}
	return text, nil
}
