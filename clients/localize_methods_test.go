package clients

import (
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/i18n"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/wire"
)

// locNow is the fixed clock of the tests below: 2027-01-15 08:00:00 UTC.
const locNow = 1_800_000_000

// localLicensee opens a German Licensee of product 1AJS2 whose card
// signs leases with k and names a gateway that never answers (a black
// hole), so that every server request fails after timeout.
func localLicensee(t *testing.T, k *composite.PrivateKey, mutate func(*LicenseeConfig)) *Licensee {
	t.Helper()
	nk, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	card := &wire.Card{Address: blackHole(t), NoiseKey: nk.Public(), LeaseKeys: []*composite.PublicKey{k.Public()}}
	cfg := LicenseeConfig{Card: card, Product: "1AJS2", StateDir: filepath.Join(t.TempDir(), "state"),
		Explicit: "localize test", Language: "de_DE.UTF-8", Timeout: 300 * time.Millisecond, Hostname: "test-host",
		Now: func() time.Time { return time.Unix(locNow, 0) }}
	if mutate != nil {
		mutate(&cfg)
	}
	l, err := OpenLicensee(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// locLease signs a lease of product 1AJS2 for l's installation and
// machine, issued 100 s ago and good for expiry seconds more.
func locLease(t *testing.T, l *Licensee, k *composite.PrivateKey, id byte, level wire.LeaseLevel, expiry int64, nonce [wire.NonceSize]byte) []byte {
	t.Helper()
	ls := wire.Lease{Issued: locNow - 100, LeaseExpiry: locNow + expiry, Level: level, ServerTime: locNow - 100,
		InstallKeyHash: l.client.InstallID(), Fingerprint: l.Fingerprint(), Nonce: nonce}
	ls.LicenseID[0] = id
	copy(ls.Product[:], "1AJS2")
	b, err := wire.SignLease(&ls, k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantGerman fails unless d's message is id's German text with args, and
// its action (when action is not "") action's German text.
func wantGerman(t *testing.T, what string, d Decision, id string, args map[string]string, action string, actionArgs map[string]string) {
	t.Helper()
	want, _ := i18n.Text(nil, "de", id, args)
	if d.MessageID != id || d.Language != "de" || d.Message != want || strings.Contains(d.Message, "{") {
		t.Errorf("%s: %q in %q: %q (reason %s, err %v)\nwant %q in de: %q", what, d.MessageID, d.Language, d.Message, d.Reason, d.Err, id, want)
	}
	if action != "" {
		if want, _ := i18n.Text(nil, "de", action, actionArgs); d.Action != want {
			t.Errorf("%s: action %q, want %s: %q", what, d.Action, action, want)
		}
	}
}

// TestMethodsLocalized: the Decisions of ImportLease, CheckProduct,
// StartTrial, a plug-in's Activate, a no-seat refusal with its retry time
// and LicenseeConfig.OnHeartbeat come out in the Licensee's language, each
// exactly once (a sentence told twice would not be recognised the second
// time and fall back to English).
func TestMethodsLocalized(t *testing.T) {
	k := trustKey(t, "localize")
	var beats = make(chan Decision, 4)
	l := localLicensee(t, k, func(c *LicenseeConfig) {
		c.OnHeartbeat = func(d Decision) {
			select {
			case beats <- d:
			default:
			}
		}
	})
	ctx := hang.Context(t)

	// ImportLease, refused before and after verifying the file.
	d := l.ImportLease([]byte("not a lease"))
	wantGerman(t, "import of garbage", d, "import.not-a-license", nil, "import.bring-unchanged", nil)
	other := localLicensee(t, k, nil)
	d = l.ImportLease(wire.ArmorLease(locLease(t, other, k, 1, wire.LevelLeaseOnly, 86400, [wire.NonceSize]byte{})))
	wantGerman(t, "import of another install's lease", d, "import.foreign", nil, "import.foreign.action", nil)
	d = l.ImportLease(wire.ArmorLease(locLease(t, l, k, 1, wire.LevelLeaseOnly, 86400, [wire.NonceSize]byte{9})))
	wantGerman(t, "import answering no request", d, "request-mismatch", nil, "request-mismatch.action", nil)

	// CheckProduct and StartTrial: nothing held, the gateway unreachable.
	d = l.CheckProduct(ctx, "1CJS2")
	wantGerman(t, "CheckProduct, nothing activated", d, "not-activated", nil, "not-activated.action", nil)
	d = l.StartTrial(ctx)
	if d.Allowed || d.Reason.Decided() {
		t.Fatalf("StartTrial against a black hole: %+v", d)
	}
	wantGerman(t, "StartTrial, gateway unreachable", d, string(d.Reason), nil, string(d.Reason)+".action", nil)

	// A license held: CheckProduct for a product it does not cover, and
	// ImportLease of another license's answer.
	l.mu.Lock()
	st := l.st
	st.HasLicense, st.Product, st.Lease = true, "1AJS2", locLease(t, l, k, 1, wire.LevelLeaseOnly, 86400*30, [wire.NonceSize]byte{})
	st.LicenseID[0] = 1
	held := hex.EncodeToString(st.LicenseID[:])
	l.mu.Unlock()
	d = l.CheckProduct(ctx, "1czz2")
	wantGerman(t, "CheckProduct of another product", d, "wrong-product.not-covered", map[string]string{"held": "1AJS2", "product": "1CZZ2"}, "wrong-product.action", nil)
	d = l.CheckProduct(ctx, "1AJS2")
	if !d.Allowed {
		t.Fatalf("CheckProduct of the license's own product: %+v", d)
	}
	wantGerman(t, "CheckProduct of its own product", d, "offline", nil, "", nil)
	nonce := [wire.NonceSize]byte{7}
	l.mu.Lock()
	if err := l.savePending([][wire.NonceSize]byte{nonce}); err != nil {
		t.Fatal(err)
	}
	l.mu.Unlock()
	d = l.ImportLease(wire.ArmorLease(locLease(t, l, k, 2, wire.LevelLeaseOnly, 86400, nonce)))
	wantGerman(t, "import beside another license", d, "import.other-license-held", map[string]string{"license": held, "held": "1AJS2"}, "import.other-license-held.action", nil)

	// A no-seat refusal says when to try again, rounded up to the minute.
	for _, c := range []struct {
		at   int64
		want string
	}{{locNow, "2027-01-15 08:00 UTC"}, {locNow + 1, "2027-01-15 08:01 UTC"}} {
		d = l.localized(l.refusal(&wire.StatusError{Status: wire.StatusNoSeats, RetryAt: c.at}, false))
		wantGerman(t, "no seat", d, "no-seat", nil, "no-seat.action.retry-after", map[string]string{"time": c.want})
		if d.RetryAt != c.at {
			t.Errorf("no seat: RetryAt %d, want %d", d.RetryAt, c.at)
		}
	}
	d = l.localized(l.refusal(&wire.StatusError{Status: wire.StatusNoSeats}, false))
	wantGerman(t, "no seat, no retry time", d, "no-seat", nil, "no-seat.action", nil)

	// A floating seat's heartbeat: the gateway unreachable, the lease
	// decides, and OnHeartbeat is told so in German.
	l.mu.Lock()
	st.Lease = locLease(t, l, k, 1, wire.LevelFloating, 200, [wire.NonceSize]byte{})
	l.heartbeatIfFloating()
	l.mu.Unlock()
	select {
	case d = <-beats:
		wantGerman(t, "heartbeat, gateway unreachable", d, "offline-fallback", nil, "", nil)
	case <-ctx.Done():
		t.Fatal("no heartbeat")
	}
}

// TestPluginActivateLocalized: a plug-in's Activate with no base program
// activated is refused before any request, naming the base, in German.
func TestPluginActivateLocalized(t *testing.T) {
	l := localLicensee(t, trustKey(t, "localize"), func(c *LicenseeConfig) {
		c.Base, c.BaseStateDir = "1CJS2", filepath.Join(t.TempDir(), "base")
	})
	d := l.Activate(hang.Context(t), keygen.Key{})
	wantGerman(t, "plug-in without its base", d, "base-missing.not-activated", map[string]string{"base": "1CJS2"}, "base-missing.action", nil)
}
