package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// offlineRequestFile writes an air-gapped install's activation request
// for key, sealed to gw, into dir; it returns the file and the install's
// private key.
func offlineRequestFile(t *testing.T, dir, name string, key keygen.Key, gw [32]byte, fp wire.Fingerprint) (string, [32]byte, wire.OfflineRequest) {
	t.Helper()
	var priv [32]byte
	rand.Read(priv[:])
	r := wire.OfflineRequest{Created: time.Now().Unix(), Fingerprint: fp, Hostname: []byte("lab-" + name)}
	copy(r.Product[:], key[:wire.ProductSize])
	rand.Read(r.Nonce[:])
	k := [wire.KeySize]byte(key)
	b, err := wire.SealOfflineRequest(&r, &k, &priv, &gw)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".req")
	if err := os.WriteFile(path, wire.ArmorOfflineRequest(b), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, priv, r
}

func offlineFingerprint() wire.Fingerprint {
	f := wire.Fingerprint{N: 2}
	f.C[0].Kind, f.C[1].Kind = wire.KindMachineID, wire.KindDisk
	rand.Read(f.C[0].Hash[:])
	rand.Read(f.C[1].Hash[:])
	return f
}

// TestLicenseAnswerAndReleaseStopped: on a stopped gateway, 'license
// answer' answers a request with a lease for its install, machine and
// nonce, the same seat when answered again, NO_SEATS for a second machine
// of a one-seat key; a request for another gateway is REQUEST_MISMATCH
// (code request_mismatch with --json); 'license release' frees the seat
// and, run again, is NOT_ACTIVATED; the key is never printed.
func TestLicenseAnswerAndReleaseStopped(t *testing.T) {
	t.Parallel()
	dir, work := t.TempDir(), t.TempDir()
	tollgate(t, "init", "--data", dir)
	key, err := keygen.ParseKey(strings.TrimSpace(tollgate(t, "keys", "mint", "--data", dir, "--product", "1AJS2", "--uncatalogued", "--seats", "1")))
	if err != nil {
		t.Fatal(err)
	}
	card, err := wire.LoadCard(filepath.Join(dir, "server.card"))
	if err != nil {
		t.Fatal(err)
	}
	fp := offlineFingerprint()
	req, priv, r := offlineRequestFile(t, work, "one", key, card.NoiseKey, fp)
	leaseFile := filepath.Join(work, "one.lease")
	out := tollgate(t, "license", "answer", "--data", dir, req, "--out", leaseFile)
	if !strings.Contains(out, "activated") || strings.Contains(out, key.String()) {
		t.Fatalf("license answer printed %q", out)
	}
	text, err := os.ReadFile(leaseFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := wire.DearmorLease(text)
	if err != nil {
		t.Fatal(err)
	}
	lease, err := wire.VerifyLease(raw, card.LeaseKeys)
	if err != nil {
		t.Fatal(err)
	}
	if lease.Nonce != r.Nonce || lease.InstallKeyHash != r.InstallID() || string(lease.Product[:]) != "1AJS2" {
		t.Fatal("the lease does not answer the request")
	}
	// Answered again, to stdout: the same seat, and a new lease, which the
	// machine imports in place of the first (its issue time is a second
	// later when the clock turned meanwhile: the release below must name
	// this one).
	out = tollgate(t, "license", "answer", "--data", dir, req)
	if !strings.HasPrefix(out, "-----BEGIN TOLLGATE LEASE-----\n") {
		t.Fatalf("answer to stdout: %q", out)
	}
	if raw, err = wire.DearmorLease([]byte(out)); err != nil {
		t.Fatal(err)
	}
	if lease, err = wire.VerifyLease(raw, card.LeaseKeys); err != nil {
		t.Fatal(err)
	}
	other, _, _ := offlineRequestFile(t, work, "two", key, card.NoiseKey, offlineFingerprint())
	if msg := tollgateFails(t, "license", "answer", "--data", dir, other); !strings.Contains(msg, "NO_SEATS") {
		t.Fatalf("second machine: %q", msg)
	}
	var elsewhere [32]byte
	rand.Read(elsewhere[:])
	foreign, _, _ := offlineRequestFile(t, work, "three", key, elsewhere, fp)
	var o, e bytes.Buffer
	if err := run([]string{"license", "answer", "--data", dir, foreign, "--json"}, &o, &e); err == nil {
		t.Fatal("a request for another gateway was answered")
	}
	var ej struct {
		Error errorJSON `json:"error"`
	}
	if err := json.Unmarshal(o.Bytes(), &ej); err != nil || ej.Error.Code != "request_mismatch" || ej.Error.Status != "REQUEST_MISMATCH" {
		t.Fatalf("--json refusal: %v %s", err, o.String())
	}

	rel := wire.OfflineRelease{LicenseID: lease.LicenseID, LeaseIssued: lease.Issued, Created: time.Now().Unix()}
	rand.Read(rel.Nonce[:])
	b, err := wire.SignOfflineRelease(&rel, &priv, &card.NoiseKey)
	if err != nil {
		t.Fatal(err)
	}
	proof := filepath.Join(work, "one.proof")
	if err := os.WriteFile(proof, wire.ArmorOfflineRelease(b), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := tollgate(t, "license", "release", "--data", dir, proof); !strings.Contains(out, "seat is free") {
		t.Fatalf("license release: %q", out)
	}
	if msg := tollgateFails(t, "license", "release", "--data", dir, proof); !strings.Contains(msg, "NOT_ACTIVATED") {
		t.Fatalf("released twice: %q", msg)
	}
	// The seat is free: the second machine's request is answered.
	tollgate(t, "license", "answer", "--data", dir, other, "--out", filepath.Join(work, "two.lease"))
	if out := tollgate(t, "audit", "--data", dir); !strings.Contains(out, "license.answer-offline") || !strings.Contains(out, "license.release-offline") {
		t.Fatalf("not audited:\n%s", out)
	}
	if msg := tollgateFails(t, "license", "answer", "--data", dir); !strings.Contains(msg, "REQUEST-FILE") {
		t.Fatalf("no file: %q", msg)
	}
}
