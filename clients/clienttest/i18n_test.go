package clienttest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/i18n"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// The tests of this package compare English sentences: whatever the
// locale of the machine running them, the client library and commands
// speak English unless a test asks for another language.
func init() { os.Setenv("LC_ALL", "C") }

// Overrides the tests set through 'tollgate product messages set'.
const (
	ruOffline = "Лицензия в порядке: проверено без сети по сохранённому файлу."
	ruRevoked = "Ключ отозван издателем. Напишите нам: help@example.com"
)

// openIn opens a Licensee of the test product in language lang.
func openIn(t *testing.T, g *testGateway, dir, lang string) *clients.Licensee {
	t.Helper()
	l, err := clients.OpenLicensee(clients.LicenseeConfig{
		Card: g.card, Product: product, StateDir: dir, Components: machine("i18n", "02:00:00:00:00:01"),
		Timeout: hang.Timeout(t), Hostname: "test-host", Language: lang,
	})
	if err != nil {
		t.Fatalf("OpenLicensee(%s): %v", lang, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// wantText fails the test unless d is the message id in language lang with
// text.
func wantText(t *testing.T, what string, d clients.Decision, id, lang, text string) {
	t.Helper()
	if d.MessageID != id || d.Language != lang || d.Message != text {
		t.Fatalf("%s: message %q in %q: %q (reason %s, err %v)\nwant %q in %q: %q", what, d.MessageID, d.Language, d.Message, d.Reason, d.Err, id, lang, text)
	}
}

func catalogue(t *testing.T, lang, id string) string {
	t.Helper()
	s, ok := i18n.Lookup(lang, id)
	if !ok {
		t.Fatalf("no %s text for %s", lang, id)
	}
	return s
}

// TestProductMessagesOffline: over real QUIC, a publisher sets Russian
// texts of its own with 'tollgate product messages set' on the running
// gateway (through its admin socket); a Russian client activates (the
// catalogue's Russian for what it has no text for), and once the gateway
// is gone it is told, offline, the publisher's text from its lease; so is
// a program started again, and tollgate-client --lang ru. A German client
// of the same product is told the German catalogue's texts, and an
// English one the English.
func TestProductMessagesOffline(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	op := gatewayBinary(t)
	data := g.g.Dir
	runBinary(t, op, "product", "add", "--data", data, "--code", product, "--name", "Lite").expect(t, "product add", 0, "added")
	runBinary(t, op, "product", "messages", "set", "--data", data, product, "ru", "offline", ruOffline).expect(t, "messages set offline", 0, "set")
	runBinary(t, op, "product", "messages", "set", "--data", data, product, "ru", "refused.revoked", ruRevoked).expect(t, "messages set revoked", 0, "set")
	// Refused as the CLI says: an id the catalogue lacks, a mark that
	// would garble a terminal.
	runBinary(t, op, "product", "messages", "set", "--data", data, product, "ru", "no-such-id", "x").expect(t, "unknown id", 2, "not in the catalogue")
	runBinary(t, op, "product", "messages", "set", "--data", data, product, "he", "no-seat", "\u202Bאין\u202C").expect(t, "bidi embedding", 2, "U+202B")
	runBinary(t, op, "product", "messages", "list", "--data", data, product).expect(t, "messages list", 0, ruOffline, ruRevoked)

	keys := g.mint(t, 4, service.Spec{Seats: 1, Policy: store.Policy{Level: 1, LeaseSeconds: 30 * 86400}})
	ruDir := filepath.Join(t.TempDir(), "ru")
	ru := openIn(t, g, ruDir, "ru_RU.UTF-8")
	d := ru.Activate(context.Background(), keys[0])
	want(t, "ru activate", d, true, clients.ReasonOK)
	wantText(t, "ru activate", d, "activated", "ru", catalogue(t, "ru", "activated"))

	de := openIn(t, g, filepath.Join(t.TempDir(), "de"), "de-DE")
	want(t, "de activate", de.Activate(context.Background(), keys[1]), true, clients.ReasonOK)
	en := openIn(t, g, filepath.Join(t.TempDir(), "en"), "en")
	want(t, "en activate", en.Activate(context.Background(), keys[2]), true, clients.ReasonOK)
	cli := newClientCLI(t, g)
	cli.run("--lang", "ru", "activate", keys[3].Display()).expect(t, "tollgate-client --lang ru activate", 0, catalogue(t, "ru", "activated"))

	g.stop()
	d = ru.CheckOffline()
	want(t, "ru offline", d, true, clients.ReasonOffline)
	wantText(t, "ru offline", d, "offline", "ru", ruOffline)
	// Asking the server, which is gone: the lease decides, and the
	// fallback sentence, which the publisher left alone, is the catalogue's.
	d = ru.CheckNow(stopped(t))
	want(t, "ru check now, gateway stopped", d, true, clients.ReasonOffline)
	wantText(t, "ru check now, gateway stopped", d, "offline-fallback", "ru", catalogue(t, "ru", "offline-fallback"))
	if d.Contact != clients.ReasonUnreachable && d.Contact != clients.ReasonTimeout {
		t.Fatalf("contact with the stopped gateway: %s", d.Contact)
	}
	// The program started again, offline.
	ru.Close()
	d = openIn(t, g, ruDir, "ru").CheckOffline()
	wantText(t, "ru offline after a restart", d, "offline", "ru", ruOffline)

	d = de.CheckOffline()
	wantText(t, "de offline", d, "offline", "de", catalogue(t, "de", "offline"))
	d = en.CheckOffline()
	wantText(t, "en offline", d, "offline", "en", "The license is valid (checked offline against the saved lease).")

	r := cli.run("--lang", "ru", "validate", "--offline", "--json")
	var out struct {
		Status    string `json:"status"`
		Message   string `json:"message"`
		MessageID string `json:"message_id"`
		Language  string `json:"language"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 {
		t.Fatalf("tollgate-client --lang ru validate --offline --json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if out.Status != "offline" || out.MessageID != "offline" || out.Language != "ru" || out.Message != ruOffline {
		t.Fatalf("tollgate-client --lang ru validate --offline --json = %+v", out)
	}
}

// TestRefusalInHebrewAndRussian: over real QUIC, a revoked license is
// refused in Hebrew from the catalogue, and in Russian in the publisher's
// own text; the refusal drops the lease, yet a Russian program started
// again still shows the publisher's text (kept in the state's messages
// file). Hebrew comes out as plain text: no layout marks.
func TestRefusalInHebrewAndRussian(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	p := store.Product{Code: product, Name: "Lite"}
	if err := p.SetMessage("ru", "refused.revoked", ruRevoked); err != nil {
		t.Fatal(err)
	}
	if err := g.srv.Store().AddProduct(p); err != nil {
		t.Fatal(err)
	}
	keys := g.mint(t, 2, service.Spec{Seats: 1, Policy: store.Policy{Level: 2, LeaseSeconds: 30 * 86400}})
	he := openIn(t, g, filepath.Join(t.TempDir(), "he"), "he_IL.UTF-8")
	d := he.Activate(context.Background(), keys[0])
	want(t, "he activate", d, true, clients.ReasonOK)
	wantText(t, "he activate", d, "activated", "he", catalogue(t, "he", "activated"))
	ruDir := filepath.Join(t.TempDir(), "ru")
	ru := openIn(t, g, ruDir, "ru")
	want(t, "ru activate", ru.Activate(context.Background(), keys[1]), true, clients.ReasonOK)

	operator(t, g, keys[0], service.OpRevoke)
	operator(t, g, keys[1], service.OpRevoke)

	d = he.CheckNow(context.Background())
	want(t, "he revoked", d, false, clients.ReasonRefused)
	if d.Status != wire.StatusRevoked {
		t.Fatalf("he revoked: server status %v", d.Status)
	}
	wantText(t, "he revoked", d, "refused.revoked", "he", "הרישיון בוטל.")
	if d.Action != catalogue(t, "he", "refused.action") {
		t.Fatalf("he revoked: action %q", d.Action)
	}
	for _, s := range []string{d.Message, d.Action} {
		if err := i18n.CheckText(s); err != nil {
			t.Fatalf("he revoked: %q: %v", s, err)
		}
	}

	d = ru.CheckNow(context.Background())
	want(t, "ru revoked", d, false, clients.ReasonRefused)
	wantText(t, "ru revoked", d, "refused.revoked", "ru", ruRevoked)
	if d.Action != catalogue(t, "ru", "refused.action") {
		t.Fatalf("ru revoked: action %q", d.Action)
	}
	if _, err := os.Stat(filepath.Join(ruDir, clients.FileLease)); err == nil {
		t.Fatal("the revoked license's lease is still saved")
	}
	ru.Close()
	d = openIn(t, g, ruDir, "ru").CheckNow(context.Background())
	want(t, "ru revoked, started again", d, false, clients.ReasonRefused)
	wantText(t, "ru revoked, started again", d, "refused.revoked", "ru", ruRevoked)
	if strings.Contains(d.Message, "{") {
		t.Fatalf("a placeholder left in %q", d.Message)
	}
}
