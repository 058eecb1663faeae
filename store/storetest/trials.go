package storetest

import (
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

var trialCases = []testCase{
	{"TrialStart", testTrialStart},
	{"TrialPrior", testTrialPrior},
	{"TrialDecideRefusesWritesNothing", testTrialDecideRefuses},
	{"TrialInvalidRefused", testTrialInvalid},
	{"TrialOncePerMachineUnderConcurrency", testTrialConcurrent},
}

const trialProduct = "1CJS2"

// NewTrial returns a new trial of product for install on the machine of
// fingerprint fp, started now and running days days, as the service makes
// one: a one-seat trial license, its activation and its mark, with an
// audit entry.
func NewTrial(t testing.TB, product string, install store.InstallID, fp wire.Fingerprint, days int) *store.NewTrial {
	t.Helper()
	l := NewLicense(t, 1)
	now := time.Now().Unix()
	l.Product, l.Trial, l.Activated = product, true, now
	l.Term = store.Term{Kind: store.TermDays, Value: uint16(days)}
	l.Entitlements = []string{"scan"}
	return &store.NewTrial{
		License:    l,
		Activation: store.Activation{License: l.ID, Install: install, Fingerprint: fp, Hostname: "trial-host", Created: now, LastSeen: now},
		Trial: store.Trial{Product: product, Install: install, License: l.ID, Fingerprint: fp, Hostname: "trial-host",
			Started: now, Ends: l.Expiry()},
		Audit: store.AuditEntry{Kind: "trial.start", Detail: "test"},
	}
}

// machine returns the i-th machine of a trial test: no component in
// common with another i's (Fingerprint's share their MAC address).
func machine(i int) wire.Fingerprint {
	f := Fingerprint(i)
	f.C[1].Hash[1] = byte(i)
	f.C[1].Hash[2] = byte(i>>8) | 0x40
	return f
}

// startTrial starts n's trial if decide (called with the prior trials)
// returns nil, and returns the prior trials decide saw.
func startTrial(t *testing.T, b store.Backend, n *store.NewTrial) []store.Trial {
	t.Helper()
	var seen []store.Trial
	err := b.StartTrial(n.Trial.Product, n.Trial.Install, n.Trial.Fingerprint, func(prior []store.Trial) (*store.NewTrial, error) {
		seen = prior
		if len(prior) > 0 {
			return nil, nil
		}
		return n, nil
	})
	if err != nil {
		t.Fatalf("StartTrial: %v", err)
	}
	return seen
}

func testTrialStart(t *testing.T, b store.Backend) {
	n := NewTrial(t, trialProduct, Install(1), machine(1), 14)
	if prior := startTrial(t, b, n); len(prior) != 0 {
		t.Fatalf("the first trial saw earlier trials: %+v", prior)
	}
	if got, err := b.LicenseByID(n.License.ID); err != nil || !reflect.DeepEqual(got, n.License) {
		t.Fatalf("LicenseByID of the trial's license = %+v, %v; want %+v", got, err, n.License)
	}
	a, err := b.Activation(n.License.ID, Install(1))
	if err != nil || a.Hostname != "trial-host" || a.Fingerprint != machine(1) || a.Created != n.Activation.Created {
		t.Fatalf("the trial's activation = %+v, %v", a, err)
	}
	for _, product := range []string{trialProduct, ""} {
		ts, err := b.Trials(product)
		if err != nil || len(ts) != 1 || !reflect.DeepEqual(ts[0], n.Trial) {
			t.Fatalf("Trials(%q) = %+v, %v; want the one mark %+v", product, ts, err, n.Trial)
		}
	}
	if ts, err := b.Trials("2BKT3"); err != nil || len(ts) != 0 {
		t.Fatalf("Trials of another product = %+v, %v", ts, err)
	}
	if _, err := b.Trials("bad"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Trials of a malformed product code: %v, want ErrInvalid", err)
	}
	kinds(t, b, "trial.start")
	// An update of the trial's license sees its activation: the record
	// counts it.
	if err := b.Update(n.License.ID, nil, func(tx *store.Tx) error {
		if len(tx.Activations) != 1 || tx.Activations[0].Install != Install(1) {
			t.Errorf("Update of a trial's license sees activations %+v", tx.Activations)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func testTrialPrior(t *testing.T, b store.Backend) {
	first := NewTrial(t, trialProduct, Install(1), machine(1), 14)
	startTrial(t, b, first)
	// Another machine, and another product on this machine: no prior.
	other := NewTrial(t, trialProduct, Install(2), machine(2), 14)
	if prior := startTrial(t, b, other); len(prior) != 0 {
		t.Fatalf("a machine of other components saw %d trials", len(prior))
	}
	otherProduct := NewTrial(t, "2BKT3", Install(1), machine(1), 14)
	if prior := startTrial(t, b, otherProduct); len(prior) != 0 {
		t.Fatalf("a trial of another product saw %d trials", len(prior))
	}
	// The same install with another fingerprint, and a new install sharing
	// one component: each sees the first trial (deciding is the caller's).
	changed := machine(9)
	for name, c := range map[string]struct {
		in store.InstallID
		fp wire.Fingerprint
	}{
		"same install": {Install(1), changed},
		"same machine": {Install(3), func() wire.Fingerprint { f := machine(9); f.C[0] = machine(1).C[0]; return f }()},
	} {
		var seen []store.Trial
		err := b.StartTrial(trialProduct, c.in, c.fp, func(prior []store.Trial) (*store.NewTrial, error) {
			seen = prior
			return nil, nil
		})
		if err != nil || len(seen) != 1 || !reflect.DeepEqual(seen[0], first.Trial) {
			t.Errorf("%s: prior = %+v, %v; want the first trial", name, seen, err)
		}
	}
	if ts, err := b.Trials(trialProduct); err != nil || len(ts) != 2 {
		t.Fatalf("Trials = %d, %v; want 2 (deciding nil writes nothing)", len(ts), err)
	}
}

var errTrialUsed = errors.New("trial used")

func testTrialDecideRefuses(t *testing.T, b store.Backend) {
	n := NewTrial(t, trialProduct, Install(1), machine(1), 14)
	err := b.StartTrial(trialProduct, Install(1), machine(1), func([]store.Trial) (*store.NewTrial, error) { return nil, errTrialUsed })
	if !errors.Is(err, errTrialUsed) {
		t.Fatalf("StartTrial whose decide fails = %v, want decide's error", err)
	}
	if _, err := b.LicenseByID(n.License.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused trial wrote its license: %v", err)
	}
	if ts, err := b.Trials(""); err != nil || len(ts) != 0 {
		t.Fatalf("a refused trial left marks: %+v, %v", ts, err)
	}
	kinds(t, b)
}

func testTrialInvalid(t *testing.T, b store.Backend) {
	for name, spoil := range map[string]func(n *store.NewTrial){
		"not a trial":         func(n *store.NewTrial) { n.License.Trial = false },
		"other install":       func(n *store.NewTrial) { n.Trial.Install = Install(7) },
		"other license":       func(n *store.NewTrial) { n.Trial.License[0] ^= 1 },
		"other product":       func(n *store.NewTrial) { n.License.Product = "2BKT3" },
		"other fingerprint":   func(n *store.NewTrial) { n.Trial.Fingerprint = machine(5) },
		"two seats":           func(n *store.NewTrial) { n.License.Seats = 2 },
		"ends before started": func(n *store.NewTrial) { n.Trial.Ends = n.Trial.Started },
	} {
		n := NewTrial(t, trialProduct, Install(1), machine(1), 14)
		spoil(n)
		err := b.StartTrial(trialProduct, Install(1), machine(1), func([]store.Trial) (*store.NewTrial, error) { return n, nil })
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: StartTrial = %v, want ErrInvalid", name, err)
		}
	}
	if ts, err := b.Trials(""); err != nil || len(ts) != 0 {
		t.Fatalf("refused trials left marks: %+v, %v", ts, err)
	}
	err := b.StartTrial("bad", Install(1), machine(1), func([]store.Trial) (*store.NewTrial, error) {
		t.Error("decide called for a malformed product code")
		return nil, nil
	})
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("StartTrial of a malformed product code = %v, want ErrInvalid", err)
	}
}

// testTrialConcurrent: installs of one machine asking at once, each
// refusing when it sees an earlier trial, start exactly one.
func testTrialConcurrent(t *testing.T, b store.Backend) {
	const n = 20
	var (
		wg      sync.WaitGroup
		started atomic.Int32
		refused atomic.Int32
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nt := NewTrial(t, trialProduct, Install(100+i), machine(1), 14)
			err := b.StartTrial(trialProduct, nt.Trial.Install, nt.Trial.Fingerprint, func(prior []store.Trial) (*store.NewTrial, error) {
				if len(prior) > 0 {
					return nil, errTrialUsed
				}
				return nt, nil
			})
			switch {
			case err == nil:
				started.Add(1)
			case errors.Is(err, errTrialUsed):
				refused.Add(1)
			default:
				t.Errorf("StartTrial: %v", err)
			}
		}()
	}
	wg.Wait()
	if started.Load() != 1 || refused.Load() != n-1 {
		t.Fatalf("%d trials started and %d refused, want 1 and %d", started.Load(), refused.Load(), n-1)
	}
	if ts, err := b.Trials(trialProduct); err != nil || len(ts) != 1 {
		t.Fatalf("Trials = %d, %v; want 1", len(ts), err)
	}
}
