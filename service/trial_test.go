package service

import (
	"crypto/rand"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/wire"
)

// trialMachine returns a machine of three random components.
func trialMachine() wire.Fingerprint {
	var f wire.Fingerprint
	f.N = 3
	for i, k := range []wire.ComponentKind{wire.KindMachineID, wire.KindMAC, wire.KindDisk} {
		f.C[i].Kind = k
		rand.Read(f.C[i].Hash[:])
	}
	return f
}

func trialRequest(product string, fp wire.Fingerprint) *wire.TrialRequest {
	req := &wire.TrialRequest{Fingerprint: fp, Hostname: []byte("trial-pc"), AppVersion: []byte("2.1.0")}
	copy(req.Product[:], product)
	rand.Read(req.Nonce[:])
	return req
}

// TestTrialOncePerMachine: a machine gets one trial of a product: the lease
// carries the trial's entitlements and end; the same install asking again
// gets the same trial; a new install on the same machine (one component
// changed of three) is refused TRIAL_USED; another machine gets a trial
// of its own; a product without a trial is NO_TRIAL; the operator sees
// both trials.
func TestTrialOncePerMachine(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	if _, err := LoadDemoCatalogue(s.st); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	machine := trialMachine()
	install := newInstall(t)
	req := trialRequest("1CJS2", machine)
	g, err := s.StartTrial(req, &install)
	if err != nil || g.Resumed {
		t.Fatalf("StartTrial: %+v, %v", g, err)
	}
	lease, err := wire.VerifyLease(g.Lease, []*composite.PublicKey{s.keys.LeaseKey.Public()})
	if err != nil {
		t.Fatalf("the trial's lease does not verify: %v", err)
	}
	wantEnds := start.AddDate(0, 0, 14).Unix()
	if lease.LicenseID != g.LicenseID || lease.Nonce != req.Nonce || lease.LicenseExpiry != g.Ends ||
		g.Ends < wantEnds || g.Ends > wantEnds+60 || string(lease.Product[:]) != "1CJS2" {
		t.Fatalf("lease %+v of trial %+v: want license, nonce, and an end 14 days on", lease, g)
	}
	if !lease.Entitlements.Has("scan") || lease.Entitlements.Has("update") || lease.Entitlements.Count() != 1 {
		t.Fatalf("the trial's lease grants %d entitlements, want \"scan\" only", lease.Entitlements.Count())
	}
	lic, err := s.st.LicenseByID(g.LicenseID)
	if err != nil || !lic.Trial || lic.Seats != 1 || lic.Shop != "" || lic.Policy.Level != 2 {
		t.Fatalf("the trial's license = %+v, %v", lic, err)
	}

	again := trialRequest("1CJS2", machine)
	g2, err := s.StartTrial(again, &install)
	if err != nil || !g2.Resumed || g2.LicenseID != g.LicenseID || g2.Ends != g.Ends {
		t.Fatalf("the same install again: %+v, %v; want the same trial", g2, err)
	}
	if l2, err := wire.VerifyLease(g2.Lease, []*composite.PublicKey{s.keys.LeaseKey.Public()}); err != nil || l2.Nonce != again.Nonce {
		t.Fatalf("the resumed trial's lease: %v (nonce echoed: %v)", err, l2.Nonce == again.Nonce)
	}

	// A new state directory on the same machine, whose network card changed.
	reinstalled := newInstall(t)
	changed := machine
	rand.Read(changed.C[1].Hash[:])
	_, err = s.StartTrial(trialRequest("1CJS2", changed), &reinstalled)
	if !errors.Is(err, ErrTrialUsed) {
		t.Fatalf("a new install on the same machine: %v, want TRIAL_USED", err)
	}
	if st, msg, _ := StatusOf(err); st != wire.StatusTrialUsed || msg == "" {
		t.Fatalf("StatusOf(trial used) = %v %q", st, msg)
	}

	// The install on another machine (its state copied there) is not this
	// trial's machine.
	if _, err := s.StartTrial(trialRequest("1CJS2", trialMachine()), &install); !errors.Is(err, ErrFingerprintMismatch) {
		t.Fatalf("the trial's install on another machine: %v, want FINGERPRINT_MISMATCH", err)
	}

	other := newInstall(t)
	g3, err := s.StartTrial(trialRequest("1CJS2", trialMachine()), &other)
	if err != nil || g3.LicenseID == g.LicenseID {
		t.Fatalf("another machine: %+v, %v; want a trial of its own", g3, err)
	}

	for _, code := range []string{"1AJS2", "9ZZZ9"} {
		_, err := s.StartTrial(trialRequest(code, trialMachine()), &other)
		if st, _, _ := StatusOf(err); !errors.Is(err, ErrNoTrial) || st != wire.StatusNoTrial {
			t.Fatalf("a trial of %s: %v, want NO_TRIAL", code, err)
		}
	}
	var bad wire.Fingerprint
	bad.N = 1
	bad.C[0].Kind = wire.KindMAC
	if _, err := s.StartTrial(trialRequest("1CJS2", bad), &other); !errors.Is(err, ErrFingerprintRejected) {
		t.Fatalf("an implausible fingerprint: %v", err)
	}

	rows, err := Trials(s.st, "", time.Now())
	if err != nil || len(rows) != 2 {
		t.Fatalf("Trials = %+v, %v; want 2", rows, err)
	}
	if rows[0].License != g.LicenseID { // both started in the same second: by license id
		rows[0], rows[1] = rows[1], rows[0]
	}
	if rows[0].License != g.LicenseID || rows[1].License != g3.LicenseID || rows[0].Hostname != "trial-pc" ||
		rows[0].Machine != MachineID(install.Install) || rows[0].Ended || rows[0].Ends != g.Ends {
		t.Fatalf("Trials = %+v", rows)
	}
	if rows, err := Trials(s.st, "1AJS2", time.Now()); err != nil || len(rows) != 0 {
		t.Fatalf("Trials of a product without any = %+v, %v", rows, err)
	}
	log, err := s.st.AuditLog(0)
	n := 0
	for _, e := range log {
		if e.Kind == "trial.start" {
			n++
		}
	}
	if err != nil || n != 2 {
		t.Fatalf("audit holds %d trial.start entries, %v; want 2", n, err)
	}
}

// TestTrialEnded: once its days are over, the install's own trial is
// refused TRIAL_USED too, and validating it is EXPIRED.
func TestTrialEnded(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(time.Now().Unix())
	s, _ := newTestService(t, Config{Now: func() time.Time { return time.Unix(clock.Load(), 0) }})
	if _, err := LoadDemoCatalogue(s.st); err != nil {
		t.Fatal(err)
	}
	install := newInstall(t)
	machine := trialMachine()
	g, err := s.StartTrial(trialRequest("1CJS2", machine), &install)
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(15 * 86400)
	if _, err := s.StartTrial(trialRequest("1CJS2", machine), &install); !errors.Is(err, ErrTrialUsed) {
		t.Fatalf("the install's ended trial: %v, want TRIAL_USED", err)
	}
	v := &wire.ValidateRequest{LicenseID: g.LicenseID, Fingerprint: machine, Counter: 1}
	if _, err := s.ValidateSlow(v, &install); !errors.Is(err, ErrExpired) {
		t.Fatalf("validating an ended trial: %v, want EXPIRED", err)
	}
}

// TestTrialConcurrentInstalls: 50 installs of one machine asking at once
// get exactly one trial; the others are refused TRIAL_USED.
func TestTrialConcurrentInstalls(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	if _, err := LoadDemoCatalogue(s.st); err != nil {
		t.Fatal(err)
	}
	machine := trialMachine()
	const n = 50
	var (
		wg             sync.WaitGroup
		granted, usedN atomic.Int32
	)
	for range n {
		p := newInstall(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.StartTrial(trialRequest("1CJS2", machine), &p)
			switch {
			case err == nil:
				granted.Add(1)
			case errors.Is(err, ErrTrialUsed):
				usedN.Add(1)
			default:
				t.Errorf("StartTrial: %v", err)
			}
		}()
	}
	wg.Wait()
	if granted.Load() != 1 || usedN.Load() != n-1 {
		t.Fatalf("%d trials granted, %d refused; want 1 and %d", granted.Load(), usedN.Load(), n-1)
	}
	if ts, err := s.st.Trials("1CJS2"); err != nil || len(ts) != 1 {
		t.Fatalf("Trials = %d, %v", len(ts), err)
	}
}

// TestTrialRateLimited: one source address starts at most TrialBurst new
// trials at once (each a license, an activation, a mark and an audit
// entry); the next is RATE_LIMITED and writes nothing, another address
// still gets its trial, and a running trial asked for again costs nothing.
func TestTrialRateLimited(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	if _, err := LoadDemoCatalogue(s.st); err != nil {
		t.Fatal(err)
	}
	var first Peer
	var firstMachine wire.Fingerprint
	for i := range TrialBurst {
		p, m := newInstall(t), trialMachine() // every install from 192.0.2.10
		if _, err := s.StartTrial(trialRequest("1CJS2", m), &p); err != nil {
			t.Fatalf("trial %d of the burst: %v", i+1, err)
		}
		if i == 0 {
			first, firstMachine = p, m
		}
	}
	before, err := s.st.Trials("1CJS2")
	if err != nil {
		t.Fatal(err)
	}
	p := newInstall(t)
	if _, err := s.StartTrial(trialRequest("1CJS2", trialMachine()), &p); KindOf(err) != KindRateLimited {
		t.Fatalf("trial %d from one address: %v, want RATE_LIMITED", TrialBurst+1, err)
	}
	if after, _ := s.st.Trials("1CJS2"); len(after) != len(before) {
		t.Fatalf("a refused trial was written: %d trials, want %d", len(after), len(before))
	}
	var static [32]byte
	rand.Read(static[:])
	elsewhere := NewPeer(static, netip.MustParseAddr("198.51.100.7"))
	if _, err := s.StartTrial(trialRequest("1CJS2", trialMachine()), &elsewhere); err != nil {
		t.Fatalf("another address's trial: %v", err)
	}
	if g, err := s.StartTrial(trialRequest("1CJS2", firstMachine), &first); err != nil || !g.Resumed {
		t.Fatalf("a running trial asked for again from the limited address: %+v, %v", g, err)
	}
}
