package clients

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// LicenseeConfig configures a Licensee: one installed program's license on
// this machine.
type LicenseeConfig struct {
	// Card is the gateway's server card. Required.
	Card *wire.Card
	// Product is the program's 5-character product code. Required: it
	// salts the fingerprint and names the state directory.
	Product string
	// StateDir keeps the install key, lease and clock ratchet. Zero means
	// DefaultStateDir(Product, System).
	StateDir string
	// System selects the system-wide state directory when StateDir is
	// empty (Linux: /var/lib/tollgate/<product>).
	System bool
	// Explicit, when not empty, is a publisher-chosen machine identifier
	// used as the whole fingerprint, for containers and VMs whose hardware
	// identifiers change at every start (see MachineFingerprint).
	Explicit string
	// AppVersion is sent at activation. Zero means "".
	AppVersion string
	// Address, when not empty, replaces the card's addresses: it is the
	// only one dialed.
	Address string
	// Timeout bounds one server request. Zero means 10 s.
	Timeout time.Duration
	// CheckEvery is how often levels 2 and 3 check with the server when it
	// is reachable. Zero means 24 h.
	CheckEvery time.Duration
	// RetryEvery is how long Check waits, after failing to reach the
	// server, before trying again while the lease still allows the program
	// to run, so a program offline does not wait for a timeout at every
	// check. Zero means 1 h. A check the lease cannot do without is always
	// tried.
	RetryEvery time.Duration
	// ClockTolerance is how far the clock may go back behind the latest
	// trusted time before leases are refused. Zero means 5 min.
	ClockTolerance time.Duration
	// Now is the clock. Zero means time.Now.
	Now func() time.Time
	// Components reads the machine's identifiers. Zero means
	// MachineComponents; tests pass their own.
	Components func() []RawComponent
	// Hostname is the computer name shown in seat lists. Zero means
	// Hostname().
	Hostname string
	// Language is the language of the Decisions' texts: a code such as
	// "de", or a locale name such as "de_DE.UTF-8" or "de-DE". Zero means
	// the user's: on Windows the display language, elsewhere LC_ALL, then
	// LC_MESSAGES, then LANG. A language without a catalogue is told in
	// the product's own texts for it, where its publisher set them, else
	// in English.
	Language string
	// Base, when not empty, makes this the Licensee of a plug-in of the
	// product of that code: it shares the base program's install (its
	// install key, in BaseStateDir), names the base's license when it
	// activates, and is refused (ReasonBaseMissing) while the base is not
	// licensed on this machine. See product.go.
	Base string
	// BaseStateDir is the base program's state directory. Zero means
	// DefaultStateDir(Base, System).
	BaseStateDir string
	// OnHeartbeat, when set, is told the outcome of each heartbeat of a
	// floating license (floating.go), from the heartbeat's goroutine, in
	// the Licensee's language as Check's Decisions are.
	OnHeartbeat func(Decision)
}

func (c *LicenseeConfig) setDefaults() error {
	if c.Card == nil {
		return fmt.Errorf("%w: no server card", ErrConfig)
	}
	if _, err := keygen.ParseProductCode(c.Product); err != nil {
		return fmt.Errorf("%w: product code: %w", ErrConfig, err)
	}
	if c.StateDir == "" {
		d, err := DefaultStateDir(c.Product, c.System)
		if err != nil {
			return err
		}
		c.StateDir = d
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.CheckEvery == 0 {
		c.CheckEvery = 24 * time.Hour
	}
	if c.RetryEvery == 0 {
		c.RetryEvery = time.Hour
	}
	if c.ClockTolerance == 0 {
		c.ClockTolerance = 5 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Components == nil {
		c.Components = MachineComponents
	}
	if c.Hostname == "" {
		c.Hostname = Hostname()
	}
	return c.setLanguage()
}

// Licensee is one program's license on this machine: its state directory,
// the offline policy and the gateway client. Its methods are safe for
// concurrent use; they take turns. When the card lists several addresses,
// the one that answered last is dialed first for as long as the Licensee
// is open (it is kept in memory, not in the state directory: a program
// started while the card's first address is down waits one dial head
// start, 250 ms, before the next is tried).
type Licensee struct {
	cfg LicenseeConfig

	mu      sync.Mutex
	st      *State
	damaged error // damage found when loading the state, reported once
	client  *Client
	failed  time.Time // when the server last could not be reached; zero after an answer
	// savedTrusted is the clock ratchet as last saved by advance (or
	// loaded): advance saves it again once it is a minute ahead of that.
	savedTrusted int64
	msgs         productMessages // the product's message overrides, from its leases
	// verified caches the verification of the lease bytes raw.
	verified struct {
		raw   []byte
		lease wire.Lease
		err   error
	}
	base  baseCache // a plug-in's: the base's lease verified
	float floating  // a floating seat's heartbeat (floating.go)
}

// OpenLicensee loads (or creates) the state and returns the Licensee. It
// connects to nothing. Damaged state files are recovered from (see
// LoadState) and reported by Damaged.
func OpenLicensee(cfg LicenseeConfig) (*Licensee, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	st, damaged, err := LoadState(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	installKey := st.InstallKey
	if cfg.Base != "" {
		base, err := cfg.baseState()
		if err != nil {
			return nil, err
		}
		installKey = base.InstallKey
	}
	trust, terr := licenseeTrust(&cfg, st)
	damaged = errors.Join(damaged, terr)
	c, err := New(Config{Card: cfg.Card, InstallKey: installKey, Address: cfg.Address, Timeout: cfg.Timeout, trust: trust})
	if err != nil {
		return nil, err
	}
	return &Licensee{cfg: cfg, st: st, damaged: damaged, client: c, msgs: loadMessages(st.Dir), savedTrusted: st.Trusted}, nil
}

// Damaged returns what was wrong with the saved state when it was loaded,
// or nil. The state has been recovered from: the next Check re-validates.
func (l *Licensee) Damaged() error { return l.damaged }

// Close checks a floating seat in (floating.go) and closes the connection
// to the gateway.
func (l *Licensee) Close() error {
	l.checkIn()
	l.mu.Lock()
	if l.st.Trusted > l.savedTrusted {
		l.st.Save() // the clock ratchet, as far as it went
		l.savedTrusted = l.st.Trusted
	}
	l.mu.Unlock()
	return l.client.Close()
}

// Fingerprint returns this machine's fingerprint for the product.
func (l *Licensee) Fingerprint() wire.Fingerprint {
	if l.cfg.Explicit != "" {
		return MachineFingerprint(l.cfg.Product, l.cfg.Explicit)
	}
	return Fingerprint(l.cfg.Product, l.cfg.Components())
}

// Activate binds key to this installation on this machine and saves the
// lease. A refusal or network failure comes back as a Decision like
// Check's. The key may be another product's when that product is a bundle
// covering this one; the key of a product that does not cover it is
// refused (ReasonWrongProduct) and the seat its activation took freed
// again. A plug-in's key (LicenseeConfig.Base) needs its base licensed
// here first (ReasonBaseMissing).
func (l *Licensee) Activate(ctx context.Context, key keygen.Key) Decision {
	return l.localized(l.activate(ctx, key))
}

func (l *Licensee) activate(ctx context.Context, key keygen.Key) Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.st
	if st.HasLicense && st.Product != l.cfg.Product {
		// Replacing it would leave its seat taken on the server, with
		// nothing left here to free it.
		d := refuse(ReasonOtherLicense, nil)
		d.Message = fmt.Sprintf("This license folder already holds the license of product %s; activating %s here would replace it and leave its seat taken on the license server.", st.Product, l.cfg.Product)
		return d
	}
	now := l.cfg.Now()
	if d, back := l.ratchet(now); back {
		return d
	}
	var res *ActivateResult
	var err error
	if l.cfg.Base != "" {
		base, d, ok := l.baseLicense(now)
		if !ok {
			return d
		}
		res, err = l.client.ActivatePlugin(ctx, key, base, l.Fingerprint(), l.cfg.Hostname, l.cfg.AppVersion)
	} else {
		res, err = l.client.Activate(ctx, key, l.Fingerprint(), l.cfg.Hostname, l.cfg.AppVersion)
	}
	var unverified *UnverifiedActivationError
	if errors.As(err, &unverified) {
		return l.undoActivation(ctx, unverified)
	}
	if err != nil {
		return l.refusal(err, false)
	}
	if d, ok := l.refuseUncovered(ctx, res); !ok {
		return d
	}
	old, had := st.LicenseID, st.HasLicense
	st.LicenseID, st.HasLicense, st.Product, st.Lease = res.LicenseID, true, l.cfg.Product, res.Lease
	st.LastContact = now.Unix()
	if lease, err := l.lease(); err == nil {
		st.Trusted = lease.ServerTime // the server's time is authoritative
		// The lease carries the highest counter the gateway has seen from
		// this install: a state directory that lost its checks file goes on
		// from there instead of replaying counters (INSTALL_CLONED).
		st.Counter = max(st.Counter, lease.Counter)
	}
	l.advance(now)
	d := l.offline(now)
	if d.Allowed {
		d.Reason, d.Message, d.Contact = ReasonOK, "The license is activated on this machine.", ReasonOK
		l.heartbeatIfFloating()
	}
	if err := st.Save(); err != nil {
		d.Warning = "The license is active, but it could not be saved on this computer; it will be fetched again next time."
		d.Err = err
	}
	if had && old != res.LicenseID {
		// Another key of the same product replaced the license held
		// here: free the seat the old one holds, as nothing else can.
		err := l.client.Deactivate(ctx, old)
		var se *wire.StatusError
		if err != nil && !(errors.As(err, &se) && (se.Status == wire.StatusNotActivated || se.Status == wire.StatusNotFound)) {
			d.Warning = strings.TrimSpace(d.Warning + " The license this one replaced still holds a seat on the license server (it could not be freed); ask the vendor to free it.")
			if d.Err == nil {
				d.Err = err
			}
		}
	}
	return d
}

// undoActivation answers an activation the gateway made but whose lease
// does not verify: the seat it took is freed at once (the state never
// saw the license), and the Decision names the problem, a wrong card
// (ReasonWrongCard) or a malformed answer.
func (l *Licensee) undoActivation(ctx context.Context, ue *UnverifiedActivationError) Decision {
	cr := contactReason(ue)
	d := refuse(cr, ue)
	d.Contact = cr
	if cr != ReasonWrongCard {
		d.Message = "The license server's answer to the activation was not valid."
	}
	err := l.client.Deactivate(ctx, ue.LicenseID)
	var se *wire.StatusError
	if err == nil || errors.As(err, &se) && se.Status == wire.StatusNotActivated {
		d.Action += " The seat this activation took has been freed again."
		if l.st.HasLicense && l.st.LicenseID == ue.LicenseID {
			// It was this license's own seat: it is gone.
			l.st.HasLicense, l.st.Lease = false, nil
			l.save(&d)
		}
		return d
	}
	// The seat stays this install's: activating again from this state
	// directory with the right card reuses it.
	d.Warning = "The activation took a seat on the license server that could not be freed just now; activating again on this computer with the right server card reuses it."
	return d
}

// Deactivate frees this machine's seat on the server and forgets the
// license here. It needs the server: a seat is not freed offline.
func (l *Licensee) Deactivate(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.st.HasLicense {
		return fmt.Errorf("%w: no license is activated here", ErrConfig)
	}
	l.stopHeartbeat()
	err := l.client.Deactivate(ctx, l.st.LicenseID)
	var se *wire.StatusError
	if err != nil && !(errors.As(err, &se) && se.Status == wire.StatusNotActivated) {
		return err
	}
	l.st.HasLicense, l.st.Lease = false, nil
	return l.st.Save()
}

// checkMode says when a check asks the server.
type checkMode int

const (
	checkPolicy  checkMode = iota // when the lease's level and age call for it (Check)
	checkNow                      // always, when it can be reached (CheckNow)
	checkOffline                  // never (CheckOffline)
)

// CheckNow is Check asking the server now, whatever the level and however
// recently it was asked: an explicit "check now" in a program, or
// tollgate-client validate. A suspension, revocation or seat reset done
// on the server is seen at once, and a refusal is final as with Check.
// When the server cannot be reached the saved lease decides as Check's
// would: Contact says why the server was not asked (unreachable,
// timeout, ...) and an allowed Message says the check was offline.
func (l *Licensee) CheckNow(ctx context.Context) Decision {
	return l.localized(l.check(ctx, checkNow))
}

// CheckOffline decides from the saved lease and the clock ratchet alone,
// without asking the server, whatever the level: what Check does when no
// server check is due. A lease past half its life is not renewed, and a
// level 3 deadline is not met by it.
func (l *Licensee) CheckOffline() Decision { return l.localized(l.checkOffline()) }

func (l *Licensee) checkOffline() Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.st.HasLicense {
		return refuse(ReasonNotActivated, nil)
	}
	return l.decideLocal(l.cfg.Now())
}

// Check decides whether the program may run now, according to the
// lease's validation level:
//
//   - level 1: the lease alone; the server is asked only to renew the
//     lease once it is past half its life (or missing, or unusable);
//   - level 2: as level 1, plus a server check when the server is
//     reachable, at most once per CheckEvery; a refusal is final, an
//     unreachable server is not;
//   - level 3: a server check is required by the lease's online-by time,
//     renewed with a fresh lease at each check; warned from its warn-from
//     time; refused after.
//
// At every level the clock ratchet refuses a clock set back further than
// ClockTolerance behind the latest trusted time. CheckNow asks the server
// at once; CheckOffline never does.
func (l *Licensee) Check(ctx context.Context) Decision {
	return l.localized(l.check(ctx, checkPolicy))
}

func (l *Licensee) check(ctx context.Context, mode checkMode) Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	st := l.st
	if !st.HasLicense {
		return refuse(ReasonNotActivated, nil)
	}
	back := l.clockBack(now)
	local := l.offline(now)
	lease, _ := l.lease()
	contact, want := back || !local.Allowed, !local.Allowed
	if local.Allowed || local.Reason == ReasonOnlineOverdue {
		half := lease.Issued + (lease.LeaseExpiry-lease.Issued)/2
		due := now.Unix()-st.LastContact >= int64(l.cfg.CheckEvery/time.Second)
		switch {
		case now.Unix() >= half:
			contact, want = true, true
		case lease.Level == wire.LevelCheckWhenOnline && due:
			contact = true
		case lease.Level == wire.LevelFloating && now.Unix() >= heartbeatDue(&lease):
			contact, want = true, true
		case lease.Level == wire.LevelCheckRequired && (due || (lease.WarnFrom != 0 && now.Unix() >= lease.WarnFrom) || now.Unix() >= lease.OnlineBy):
			contact, want = true, true
		}
	}
	if mode == checkNow {
		contact = true
	}
	optional := local.Allowed && !back && mode != checkNow
	if optional && !l.failed.IsZero() && now.Sub(l.failed) < l.cfg.RetryEvery && now.After(l.failed) {
		contact = false
	}
	if !contact {
		l.advance(now)
		return local
	}
	if contact {
		counter, serr := st.NextCounter()
		res, err := l.client.Validate(ctx, st.LicenseID, l.Fingerprint(), counter, want || local.Reason != ReasonOffline)
		if err == nil {
			l.failed = time.Time{}
			st.LastContact = now.Unix()
			// The server's time is authoritative: it resets the ratchet,
			// so a clock once set too far ahead can be corrected.
			st.Trusted = res.ServerTime.Unix()
			if res.Lease != nil && l.newer(res.Lease) {
				st.Lease = res.Lease
			}
			d := l.decideLocal(now)
			if d.Allowed {
				d.Reason, d.Message, d.Contact = ReasonOK, messages[ReasonOK][0], ReasonOK
				l.heartbeatIfFloating()
			} else {
				d.Contact = ReasonOK
			}
			if serr != nil && d.Err == nil {
				d.Err = serr
			}
			l.advance(now)
			l.save(&d)
			return d
		}
		cr := contactReason(err)
		if cr == ReasonRefused {
			return l.refusal(err, true)
		}
		l.failed = now
		// The server could not be asked: the lease decides, or nothing.
		local = l.decideLocal(now)
		local.Contact = cr
		if !local.Allowed {
			switch local.Reason {
			case ReasonNotActivated, ReasonLeaseExpired:
				d := refuse(cr, err)
				d.Contact = cr
				if local.Reason == ReasonLeaseExpired {
					d.Message = "The offline license has run out and the license server cannot be reached to renew it."
				}
				return d
			}
			return local
		}
		if local.Reason == ReasonOffline {
			local.Message = offlineFallback
		}
		l.save(&local)
		return local
	}
	return l.decideLocal(now)
}

// decideLocal is offline with the clock ratchet applied.
func (l *Licensee) decideLocal(now time.Time) Decision {
	if l.clockBack(now) {
		return refuse(ReasonClockBack, nil)
	}
	l.advance(now)
	return l.offline(now)
}

// save writes the state, noting a failure in d without changing the
// answer: the state is recovered from the server next time.
func (l *Licensee) save(d *Decision) {
	if err := l.st.Save(); err != nil && d.Err == nil {
		d.Err = err
	}
}

// offlineFallback is the message of a license allowed by its lease when
// the server check tried could not be made.
const offlineFallback = "The license is valid, checked offline against the saved lease: the license server could not be asked just now."

// refusal turns an error from the server into a Decision. When held (the
// refusal is of the license held here, not of a key being activated), a
// final refusal (revoked, suspended, expired, seat reset, another
// machine) drops the lease, so the program stays refused offline; a seat
// reset or an unknown license forgets the license too.
func (l *Licensee) refusal(err error, held bool) Decision {
	cr := contactReason(err)
	d := refuse(cr, err)
	d.Contact = cr
	var se *wire.StatusError
	if cr != ReasonRefused || !errors.As(err, &se) {
		return d
	}
	d.Status = se.Status
	switch se.Status {
	case wire.StatusExpired:
		d.Reason, d.Message, d.Action = ReasonExpired, messages[ReasonExpired][0], messages[ReasonExpired][1]
	case wire.StatusFingerprintMismatch:
		d.Reason, d.Message, d.Action = ReasonOtherMachine, messages[ReasonOtherMachine][0], messages[ReasonOtherMachine][1]
	case wire.StatusRevoked:
		d.Message = "The license has been revoked."
	case wire.StatusSuspended:
		d.Message = "The license is suspended."
	case wire.StatusNotActivated, wire.StatusNotFound:
		d.Message, d.Action = "The license is no longer activated on this machine.", "Activate the program again with your license key."
	case wire.StatusNoSeats:
		d.Reason, d.Message, d.Action, d.RetryAt = ReasonNoSeat, messages[ReasonNoSeat][0], messages[ReasonNoSeat][1], se.RetryAt
		if se.RetryAt != 0 {
			d.Action = fmt.Sprintf("Close the program on another computer, or try again after %s.", retryTime(se.RetryAt))
		}
	case wire.StatusMalformedKey:
		d.Message, d.Action = "That is not a valid license key.", "Check the key for typos."
	case wire.StatusFingerprintRejected:
		d.Message, d.Action = "This computer could not be identified well enough to activate it.", "Contact the vendor; a virtual machine may need an explicit machine identifier."
	case wire.StatusTrialUsed:
		d.Reason, d.Message, d.Action = ReasonTrialUsed, messages[ReasonTrialUsed][0], messages[ReasonTrialUsed][1]
	case wire.StatusNoTrial:
		d.Reason, d.Message, d.Action = ReasonNoTrial, messages[ReasonNoTrial][0], messages[ReasonNoTrial][1]
	case wire.StatusBaseMissing:
		d.Reason, d.Message, d.Action = ReasonBaseMissing, messages[ReasonBaseMissing][0], messages[ReasonBaseMissing][1]
	case wire.StatusInstallCloned:
		d.Message = "This program's license data is also in use on another computer (it was copied, or restored from a backup), so the license server refused it here."
		d.Action = "Activate the program again with your license key. A copy of the program's data on another computer stops working then."
	}
	if held && l.st.HasLicense && se.Status != wire.StatusNoSeats && se.Status != wire.StatusMalformedKey && se.Status != wire.StatusBaseMissing {
		l.st.Lease = nil
		// A copy refused stops asking: it would otherwise leapfrog the
		// original's counter and get it refused in turn.
		if se.Status == wire.StatusNotActivated || se.Status == wire.StatusNotFound || se.Status == wire.StatusInstallCloned {
			l.st.HasLicense = false
		}
		l.save(&d)
	}
	return d
}

// retryTime tells Unix time t, rounded up to the minute, as the no-seat
// action names it: "2026-11-27 14:05 UTC".
func retryTime(t int64) string {
	return time.Unix(t+59, 0).UTC().Truncate(time.Minute).Format("2006-01-02 15:04 UTC")
}

// lease verifies the saved lease's signature against the card. A
// signature costs a hundred times the rest of a check, so the outcome is
// kept for as long as the lease bytes stay the same (a new lease is a new
// slice; the bytes are never changed in place).
func (l *Licensee) lease() (wire.Lease, error) {
	raw := l.st.Lease
	if raw == nil {
		return wire.Lease{}, errNoLease
	}
	if l.verified.raw == nil || !bytes.Equal(l.verified.raw, raw) {
		lease, err := l.client.trust.verifySaved(raw)
		l.verified.raw, l.verified.lease, l.verified.err = raw, lease, err
	}
	return l.verified.lease, l.verified.err
}

var errNoLease = errors.New("clients: no lease")

// newer reports whether lease b (verified by the client) should replace
// the saved one: there is no usable saved lease, or b was issued no
// earlier. A lease sent again is never older than the one kept.
func (l *Licensee) newer(b []byte) bool {
	cur, err := l.lease()
	if err != nil {
		return true
	}
	nl, _, err := wire.ParseLease(b)
	return err == nil && nl.Issued >= cur.Issued
}

// offline judges the saved lease alone at time now: signature, license,
// install key, product, fingerprint, expiry and, at level 3, the online-by
// time. It does not look at the clock ratchet.
func (l *Licensee) offline(now time.Time) Decision {
	st := l.st
	if !st.HasLicense {
		return refuse(ReasonNotActivated, nil)
	}
	lease, err := l.lease()
	switch {
	case errors.Is(err, errNoLease):
		return refuse(ReasonLeaseExpired, nil)
	case err != nil:
		return refuse(ReasonLeaseInvalid, fmt.Errorf("%w: %w", ErrLease, err))
	}
	c := l.client
	if lease.LicenseID != st.LicenseID || lease.InstallKeyHash != c.InstallID() {
		return refuse(ReasonLeaseForeign, ErrLease)
	}
	if !leaseCovers(&lease, l.cfg.Product) {
		return refuse(ReasonWrongProduct, ErrLease)
	}
	if l.cfg.Base != "" {
		if _, d, ok := l.baseLicense(now); !ok {
			return d
		}
	}
	fp := l.Fingerprint()
	if _, same := lease.Fingerprint.Match(&fp); !same {
		return refuse(ReasonOtherMachine, ErrLease)
	}
	t := now.Unix()
	if lease.LicenseExpiry != 0 && t >= lease.LicenseExpiry {
		return refuse(ReasonExpired, nil)
	}
	if t >= lease.LeaseExpiry {
		return refuse(ReasonLeaseExpired, nil)
	}
	if lease.Level == wire.LevelCheckRequired && t >= lease.OnlineBy {
		d := refuse(ReasonOnlineOverdue, nil)
		d.Level = lease.Level
		return d
	}
	d := Decision{Allowed: true, Reason: ReasonOffline, Message: messages[ReasonOffline][0], Level: lease.Level}
	d.Entitlements = ProductEntitlements(&lease, l.cfg.Product)
	if lease.Level == wire.LevelCheckRequired && lease.WarnFrom != 0 && t >= lease.WarnFrom {
		days := (lease.OnlineBy - t + 86399) / 86400
		d.Warning = fmt.Sprintf("The license must be checked with the license server within %d day(s); connect to the internet before then.", days)
	}
	return d
}

// clockBack reports whether now is further behind the trusted time than
// the tolerance allows. The trusted time is the ratchet, and never less
// than the signed lease's server time.
func (l *Licensee) clockBack(now time.Time) bool {
	trusted := l.st.Trusted
	if lease, err := l.lease(); err == nil && lease.ServerTime > trusted {
		trusted = lease.ServerTime
	}
	return now.Unix() < trusted-int64(l.cfg.ClockTolerance/time.Second)
}

// ratchet refuses a clock set back, for Activate, which has no lease yet.
func (l *Licensee) ratchet(now time.Time) (Decision, bool) {
	if l.clockBack(now) {
		return refuse(ReasonClockBack, nil), true
	}
	return Decision{}, false
}

// advance moves the ratchet to now, saving it when it moved by more than a
// minute, so a program checking often does not write each time.
func (l *Licensee) advance(now time.Time) {
	t := now.Unix()
	if t > l.st.Trusted {
		l.st.Trusted = t
		// Saved once it is a minute past what was saved last, however
		// small each step: a program checking every few seconds must not
		// leave the saved ratchet at its last server contact (the clock
		// set back to then, after a restart, would make an expired lease
		// good again).
		if t-l.savedTrusted > 60 {
			l.st.Save()
			l.savedTrusted = t
		}
	}
}

// ServerTime asks the gateway for its clock and, when it answers, moves
// the clock ratchet to it.
func (l *Licensee) ServerTime(ctx context.Context) (time.Time, error) {
	t, err := l.client.ServerTime(ctx)
	if err != nil {
		return time.Time{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.Unix() > l.st.Trusted {
		l.st.Trusted = t.Unix()
		l.st.Save()
	}
	return t, nil
}
