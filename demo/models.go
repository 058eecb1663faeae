package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
)

// The licensing models of the demo catalogue, after the round trip: a
// floating key, a keyless trial, a bundle and a plug-in, each walked
// through with the client library as a program does (clients.Licensee),
// several state directories and made-up machines playing several
// computers. Each step prints the Decision's reason and message, and a
// step that does not come out as it should ends the demo with ErrStep.
// Nothing here waits for a lease to run out: a floating seat is freed by
// its check-in.

// models is the walk through the licensing models.
type models struct {
	ctx   context.Context
	w     io.Writer
	step  func(format string, args ...any)
	card  *wire.Card
	srv   *gateway.Server
	shop  *clients.ShopClient
	dir   string              // the machines' state directories are made under it
	opens []*clients.Licensee // closed by close, newest first
}

// runModels walks through the floating, trial, bundle and plug-in
// models, with card's gateway srv and its registered shop; the
// Licensees' state is kept under dir. Every Licensee it opens is closed
// (a floating seat checked in) before it returns.
func runModels(ctx context.Context, w io.Writer, step func(string, ...any), card *wire.Card, srv *gateway.Server, shop *clients.ShopClient, dir string) (err error) {
	m := &models{ctx: ctx, w: w, step: step, card: card, srv: srv, shop: shop, dir: dir}
	defer func() {
		if cerr := m.close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	for _, walk := range []func() error{m.floating, m.trial, m.bundle, m.plugin} {
		if err := walk(); err != nil {
			return err
		}
	}
	return nil
}

// close closes every Licensee opened, newest first.
func (m *models) close() error {
	var errs []error
	for i := len(m.opens) - 1; i >= 0; i-- {
		errs = append(errs, m.opens[i].Close())
	}
	m.opens = nil
	return errors.Join(errs...)
}

// open opens the Licensee of program product on the made-up machine
// host, its state in the directory install (a new directory is a new
// installation); with base, it is a plug-in's beside the base program's
// installation baseInstall. Its texts are English unless lang says
// otherwise, whatever the user's locale, so the demo prints the same
// everywhere.
func (m *models) open(host, install, product, lang, base, baseInstall string) (*clients.Licensee, error) {
	if lang == "" {
		lang = "en"
	}
	cfg := clients.LicenseeConfig{
		Card: m.card, Product: product, StateDir: filepath.Join(m.dir, install),
		Components: func() []clients.RawComponent { return demoMachine(host) },
		Hostname:   host, AppVersion: "2.1.0", Language: lang, Timeout: 10 * time.Second,
	}
	if base != "" {
		cfg.Base, cfg.BaseStateDir = base, filepath.Join(m.dir, baseInstall)
	}
	l, err := clients.OpenLicensee(cfg)
	if err != nil {
		return nil, err
	}
	m.opens = append(m.opens, l)
	return l, nil
}

// demoMachine is the made-up machine host's raw identifiers.
func demoMachine(host string) []clients.RawComponent {
	return []clients.RawComponent{
		{Kind: wire.KindMachineID, Value: "demo-machine-id-" + host},
		{Kind: wire.KindMAC, Value: "demo-mac-" + host},
		{Kind: wire.KindDisk, Value: "demo-disk-serial-" + host},
	}
}

// mint mints one key of product with seats seats (zero: the product's)
// over the shop channel, for order.
func (m *models) mint(order, product string, seats uint32) (keygen.Key, error) {
	keys, err := m.shop.Mint(m.ctx, order, product, 1, clients.MintSpec{Seats: seats})
	if err != nil {
		return keygen.Key{}, err
	}
	return keys[0], nil
}

// expect prints what was done and its outcome, and fails the step when
// the Decision is not the one wanted.
func (m *models) expect(what string, d clients.Decision, allowed bool, reason clients.Reason) error {
	verdict := "refused"
	if d.Allowed {
		verdict = "allowed"
	}
	m.step("%s: %s (%s): %s", what, verdict, d.Reason, d.Message)
	if d.Action != "" {
		m.detail("what to do", "%s", d.Action)
	}
	if d.Allowed != allowed || d.Reason != reason {
		want := "refused"
		if allowed {
			want = "allowed"
		}
		return fmt.Errorf("%w: %s: %s (%s), want %s (%s): %v", ErrStep, what, verdict, d.Reason, want, reason, d.Err)
	}
	return nil
}

// detail prints a line under a step.
func (m *models) detail(name, format string, args ...any) {
	fmt.Fprintf(m.w, "      %-13s %s\n", name, fmt.Sprintf(format, args...))
}

// entitlements prints d's entitlements and fails unless they are want.
func (m *models) entitlements(what string, d clients.Decision, want ...string) error {
	got := strings.Join(d.Entitlements, " ")
	m.detail("entitlements", "%s", got)
	if got != strings.Join(want, " ") {
		return fmt.Errorf("%w: %s: entitlements %q, want %q", ErrStep, what, got, want)
	}
	return nil
}

// seatsHeld returns how many seats of key's license the gateway counts as
// held now.
func (m *models) seatsHeld(key keygen.Key) (int, error) {
	st := m.srv.Store()
	lic, err := st.LicenseByKeyHash(m.srv.Identity().Hasher.Hash(key))
	if err != nil {
		return 0, err
	}
	acts, err := st.Activations(lic.ID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range service.FloatingSeats(acts, time.Now().Unix()) {
		if s.Held {
			n++
		}
	}
	return n, nil
}

// floating: a 2-seat key of the floating 1FJS3; two machines check seats
// out, a third is refused no-seat with when to retry, the first closes
// its program (check-in) and the third gets the seat at once.
func (m *models) floating() error {
	const seats = 2
	key, err := m.mint("DEMO-FLOAT-1", "1FJS3", seats)
	if err != nil {
		return err
	}
	m.step("floating: the shop minted order DEMO-FLOAT-1: key %s of 1FJS3 (VSE 2.1 Pro, floating) with %d concurrent seats (the product's 10 lowered for the demo), each checked out for 15 minutes at a time", key, seats)
	var pcs []*clients.Licensee
	for _, host := range []string{"float-1", "float-2", "float-3"} {
		l, err := m.open(host, host, "1FJS3", "", "", "")
		if err != nil {
			return err
		}
		pcs = append(pcs, l)
	}
	for i, l := range pcs[:2] {
		d := l.Activate(m.ctx, key)
		if err := m.expect(fmt.Sprintf("machine float-%d starts the program and checks a seat out", i+1), d, true, clients.ReasonOK); err != nil {
			return err
		}
		st := l.Status()
		m.detail("lease", "level %v, checked out until %s; the library's heartbeat renews it every 5 minutes", d.Level, st.LeaseExpiry.Format(time.TimeOnly+"Z"))
		if d.Level != wire.LevelFloating {
			return fmt.Errorf("%w: float-%d's lease is level %v, want floating", ErrStep, i+1, d.Level)
		}
	}
	d := pcs[2].Activate(m.ctx, key)
	if err := m.expect("machine float-3 starts the program and asks for a seat", d, false, clients.ReasonNoSeat); err != nil {
		return err
	}
	if d.RetryAt == 0 {
		return fmt.Errorf("%w: no-seat without a time to retry", ErrStep)
	}
	retry := time.Unix(d.RetryAt, 0).UTC()
	m.detail("retry at", "%s (in %v: when the first seat held runs out, unless its heartbeat renews it)", retry.Format(time.TimeOnly+"Z"), time.Until(retry).Round(time.Minute))
	if err := pcs[0].Close(); err != nil {
		return err
	}
	held, err := m.seatsHeld(key)
	if err != nil {
		return err
	}
	m.step("machine float-1 closes the program: the library checks its seat in; the gateway counts %d of %d seats held", held, seats)
	if held != seats-1 {
		return fmt.Errorf("%w: %d seats held after a check-in, want %d", ErrStep, held, seats-1)
	}
	d = pcs[2].Activate(m.ctx, key)
	return m.expect("machine float-3 asks again, at once", d, true, clients.ReasonOK)
}

// trial: 1CJS2's 14-day keyless trial starts on a machine; the same
// machine with its state folder wiped (a reinstall) is refused
// trial-used, in English and in German.
func (m *models) trial() error {
	l, err := m.open("trial-pc", "trial-pc", "1CJS2", "", "", "")
	if err != nil {
		return err
	}
	d := l.StartTrial(m.ctx)
	if err := m.expect("trial: machine trial-pc starts VSE 2.1 Pro's (1CJS2) keyless trial, without a key", d, true, clients.ReasonOK); err != nil {
		return err
	}
	ends := l.Status().LicenseExpiry
	m.detail("trial ends", "%s (in %d days)", ends.Format(time.RFC3339), int(time.Until(ends).Round(time.Hour).Hours()/24))
	if err := m.entitlements("the trial", d, "scan"); err != nil {
		return err
	}
	for _, lang := range []string{"en", "de"} {
		install := "trial-pc-reinstalled-" + lang
		l, err := m.open("trial-pc", install, "1CJS2", lang, "", "")
		if err != nil {
			return err
		}
		d := l.StartTrial(m.ctx)
		if d.Language == "" {
			// A library whose StartTrial does not tell its Decision in
			// the Licensee's language yet: the catalogue tells it.
			d = clients.Localize(d, lang)
		}
		what := "the same machine, its state folder wiped (a reinstall), asks for the trial again"
		if lang != "en" {
			what = fmt.Sprintf("the same again, told in German (LicenseeConfig.Language %q)", lang)
		}
		if err := m.expect(what, d, false, clients.ReasonTrialUsed); err != nil {
			return err
		}
		m.detail("message", "id %s, language %s", d.MessageID, d.Language)
		if d.Language != lang {
			return fmt.Errorf("%w: the trial-used message is in %q, want %q", ErrStep, d.Language, lang)
		}
	}
	return nil
}

// bundle: a key of the suite 1SJS2, activated from VSE Pro's program
// (1CJS2), licenses Pro and Firewall each with its own entitlements, and
// not Lite.
func (m *models) bundle() error {
	key, err := m.mint("DEMO-SUITE-1", "1SJS2", 0)
	if err != nil {
		return err
	}
	m.step("bundle: the shop minted order DEMO-SUITE-1: key %s of 1SJS2, the VSE 2.1 Suite (Pro 1CJS2 and Firewall 1FJS2 on one key)", key)
	l, err := m.open("suite-pc", "suite-pc", "1CJS2", "", "", "")
	if err != nil {
		return err
	}
	d := l.Activate(m.ctx, key)
	if err := m.expect("machine suite-pc activates the suite's key in VSE Pro's program (1CJS2)", d, true, clients.ReasonOK); err != nil {
		return err
	}
	if err := m.entitlements("Pro's program", d, "quarantine", "scan", "update"); err != nil {
		return err
	}
	for _, c := range []struct {
		code string
		ents []string
	}{{"1CJS2", []string{"quarantine", "scan", "update"}}, {"1FJS2", []string{"firewall", "update"}}} {
		what := "CheckProduct " + c.code
		d := l.CheckProduct(m.ctx, c.code)
		if err := m.expect(what, d, true, d.Reason); err != nil {
			return err
		}
		if !d.Allowed {
			return fmt.Errorf("%w: %s refused", ErrStep, what)
		}
		if err := m.entitlements(what, d, c.ents...); err != nil {
			return err
		}
	}
	return m.expect("CheckProduct 1AJS2 (VSE Lite, not in the suite)", l.CheckProduct(m.ctx, "1AJS2"), false, clients.ReasonWrongProduct)
}

// plugin: the plug-in 1MJS2 (Mail Shield, of Pro 1CJS2) is refused
// base-missing on an installation without Pro, and activates once Pro is
// activated on the same installation.
func (m *models) plugin() error {
	mail, err := m.mint("DEMO-MAIL-1", "1MJS2", 0)
	if err != nil {
		return err
	}
	pro, err := m.mint("DEMO-PRO-1", "1CJS2", 0)
	if err != nil {
		return err
	}
	m.step("plug-in: the shop minted order DEMO-MAIL-1: key %s of 1MJS2 (Mail Shield, a plug-in of VSE 2.1 Pro 1CJS2), and order DEMO-PRO-1: key %s of 1CJS2", mail, pro)
	plugin, err := m.open("mail-pc", "mail-pc-mail", "1MJS2", "", "1CJS2", "mail-pc-pro")
	if err != nil {
		return err
	}
	d := plugin.Activate(m.ctx, mail)
	if err := m.expect("machine mail-pc activates Mail Shield (LicenseeConfig.Base 1CJS2), Pro not activated there", d, false, clients.ReasonBaseMissing); err != nil {
		return err
	}
	base, err := m.open("mail-pc", "mail-pc-pro", "1CJS2", "", "", "")
	if err != nil {
		return err
	}
	if err := m.expect("machine mail-pc activates VSE Pro (1CJS2) on the same installation", base.Activate(m.ctx, pro), true, clients.ReasonOK); err != nil {
		return err
	}
	d = plugin.Activate(m.ctx, mail)
	if err := m.expect("machine mail-pc activates Mail Shield again", d, true, clients.ReasonOK); err != nil {
		return err
	}
	return m.entitlements("the plug-in", d, "mail-scan")
}
