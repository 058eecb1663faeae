// Command capi is libtollgate: the client library (clients.Licensee)
// behind the C ABI that tollgate.h declares, built with
// -buildmode=c-shared into libtollgate.so (Linux) and tollgate.dll
// (Windows). `make capi` builds it; tollgate.h documents every function.
//
// Rules kept by every exported function: no Go pointer crosses to C (a
// handle is a runtime/cgo.Handle number, strings are copied into C memory
// or the caller's buffers), no panic crosses back (each recovers into
// TG_ERR_INTERNAL), every string argument is bounded and checked for UTF-8
// before use, and the outcome's sentence goes to the calling thread's last
// error (helpers.c).
package main

/*
#include <stdlib.h>
#include "helpers.h"
*/
import "C"

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/cgo"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// version is the library's version, set at build time with
// -ldflags "-X main.version=...".
var version = "dev"

// abiVersion is TG_ABI_VERSION of the header this library implements.
const abiVersion = 1

// Bounds on string arguments, in bytes (UTF-16 units for the _w
// functions): a string longer than its bound, or not terminated within
// it, is refused without reading further.
const (
	maxPath   = 32 << 10
	maxShort  = 1 << 10
	maxKeyArg = 256
)

func main() {}

// licensee is what a handle refers to. mu lets calls in progress finish
// before Close frees it: calls hold it shared, tg_close exclusively.
type licensee struct {
	mu     sync.RWMutex
	closed bool
	l      *clients.Licensee

	// call serializes the calls that read the machine's identifiers
	// (the Licensee serializes them anyway), so that one call reads them
	// once: tg_check decides and then reports the lease's times, each of
	// which computes the fingerprint, and reading the identifiers is most
	// of an offline check's cost.
	call  sync.Mutex
	comps []clients.RawComponent // read during the current call; nil before

	// times are the saved lease's level and times as Status reports
	// them, for the decisions' expiry fields, kept while valid. The
	// Licensee changes its lease only when it hears from the server
	// (activation, a server check, a refusal) and on deactivation, so
	// they are read again after those alone: Status judges the lease
	// anew and would double the cost of an offline check. Guarded by call.
	times      clients.Status
	timesValid bool
}

// leaseTimes returns the saved lease's times after decision d (nil after
// a deactivation); the caller holds lic.call.
func (lic *licensee) leaseTimes(d *clients.Decision) clients.Status {
	if d == nil || d.Contact != "" || !lic.timesValid {
		lic.times, lic.timesValid = lic.l.Status(), d != nil
	}
	return lic.times
}

// begin starts a call that may read the machine's identifiers; the caller
// unlocks lic.call when done.
func (lic *licensee) begin() {
	lic.call.Lock()
	lic.comps = nil
}

// components is the Licensee's Components: the machine's identifiers,
// read once per call.
func (lic *licensee) components() []clients.RawComponent {
	if lic.comps == nil {
		lic.comps = clients.MachineComponents()
	}
	return lic.comps
}

// apiError is a failure with its status code.
type apiError struct {
	code C.tg_status
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func fail(code C.tg_status, format string, args ...any) *apiError {
	return &apiError{code, fmt.Sprintf(format, args...)}
}

// finish records the outcome of a call in the thread's last error and
// returns its status. A panic below it is recovered into TG_ERR_INTERNAL.
func finish(st *C.tg_status, err *error) {
	if r := recover(); r != nil {
		*st = C.TG_ERR_INTERNAL
		setError(fmt.Sprintf("tollgate: internal error (a bug in the library; please report it): %v", r))
		return
	}
	if *err == nil {
		*st = C.TG_OK
		setError("")
		return
	}
	var ae *apiError
	if errors.As(*err, &ae) {
		*st = ae.code
	} else {
		*st = statusOf(*err)
	}
	setError((*err).Error())
}

// setError stores msg as the calling thread's last error, cut at a
// character boundary to fit.
func setError(msg string) {
	if len(msg) >= C.TGI_ERR_MAX {
		n := C.TGI_ERR_MAX - 1
		for n > 0 && !utf8.RuneStart(msg[n]) {
			n--
		}
		msg = msg[:n]
	}
	if msg == "" {
		C.tgi_set_error(nil, 0)
		return
	}
	p := unsafe.Pointer(unsafe.StringData(msg))
	C.tgi_set_error((*C.char)(p), C.size_t(len(msg)))
}

// statusOf maps an error of the client library to a status.
func statusOf(err error) C.tg_status {
	var se *wire.StatusError
	switch {
	case errors.As(err, &se):
		return C.tg_status(se.Status)
	case errors.Is(err, clients.ErrInstallKeyDamaged):
		return C.TG_ERR_INSTALL_KEY_DAMAGED
	case errors.Is(err, clients.ErrConfig):
		return C.TG_ERR_INVALID_ARGUMENT
	case errors.Is(err, clients.ErrUnreachable):
		return C.TG_ERR_UNREACHABLE
	case errors.Is(err, clients.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return C.TG_ERR_TIMEOUT
	case errors.Is(err, clients.ErrHandshake):
		return C.TG_ERR_WRONG_SERVER
	case errors.Is(err, clients.ErrWrongCard):
		return C.TG_ERR_WRONG_CARD
	case errors.Is(err, clients.ErrConnection), errors.Is(err, clients.ErrProtocol), errors.Is(err, clients.ErrClosed):
		return C.TG_ERR_CONNECTION
	}
	return C.TG_ERR_STATE
}

// goString copies the NUL-terminated C string p, at most max bytes, and
// checks it is UTF-8. what names the argument in errors. A NULL p is ""
// when optional, else an error.
func goString(p *C.char, max int, what string, optional bool) (string, error) {
	if p == nil {
		if optional {
			return "", nil
		}
		return "", fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: %s is NULL", what)
	}
	n := int(C.tgi_strnlen(p, C.size_t(max+1)))
	if n > max {
		return "", fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: %s is longer than %d bytes", what, max)
	}
	s := C.GoStringN(p, C.int(n))
	if !utf8.ValidString(s) {
		return "", fail(C.TG_ERR_INVALID_UTF8, "tollgate: %s is not valid UTF-8", what)
	}
	return s, nil
}

// goStringW is goString for a NUL-terminated UTF-16 string.
func goStringW(p *C.tg_wchar, max int, what string, optional bool) (string, error) {
	if p == nil {
		if optional {
			return "", nil
		}
		return "", fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: %s is NULL", what)
	}
	n := int(C.tgi_wcsnlen(p, C.size_t(max+1)))
	if n > max {
		return "", fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: %s is longer than %d UTF-16 units", what, max)
	}
	units := unsafe.Slice((*uint16)(unsafe.Pointer(p)), n)
	var b strings.Builder
	for i := 0; i < len(units); i++ {
		u := units[i]
		switch {
		case utf16.IsSurrogate(rune(u)):
			if i+1 < len(units) && u < 0xdc00 {
				if r := utf16.DecodeRune(rune(u), rune(units[i+1])); r != utf8.RuneError {
					b.WriteRune(r)
					i++
					continue
				}
			}
			return "", fail(C.TG_ERR_INVALID_UTF8, "tollgate: %s has an unpaired UTF-16 surrogate at unit %d", what, i)
		default:
			b.WriteRune(rune(u))
		}
	}
	return b.String(), nil
}

// calling runs fn on the licensee of handle p: the handle held open
// (tg_close waits for it) and the licensee's calls serialised (begin), both
// released when fn returns.
func calling(p *C.tg_licensee, fn func(lic *licensee) error) error {
	if p == nil {
		return fail(C.TG_ERR_INVALID_HANDLE, "tollgate: the handle is NULL")
	}
	lic, ok := handleValue(cgo.Handle(C.tgi_ptr_handle(p)))
	if !ok {
		return fail(C.TG_ERR_INVALID_HANDLE, "tollgate: not an open handle (closed already, or never returned by tg_open)")
	}
	lic.mu.RLock()
	defer lic.mu.RUnlock()
	if lic.closed {
		return fail(C.TG_ERR_INVALID_HANDLE, "tollgate: the handle is closed")
	}
	lic.begin()
	defer lic.call.Unlock()
	return fn(lic)
}

// handleValue is h.Value() for a handle that may be stale: cgo.Handle
// panics on a handle it does not hold.
func handleValue(h cgo.Handle) (lic *licensee, ok bool) {
	defer func() {
		if recover() != nil {
			lic, ok = nil, false
		}
	}()
	lic, ok = h.Value().(*licensee)
	return lic, ok
}

// open opens the Licensee of cfg and returns its handle in *out.
func open(cfg clients.LicenseeConfig, out **C.tg_licensee) error {
	cfg.Product = strings.ToUpper(cfg.Product)
	lic := &licensee{}
	cfg.Components = lic.components
	l, err := clients.OpenLicensee(cfg)
	if err != nil {
		if errors.Is(err, clients.ErrConfig) || errors.Is(err, clients.ErrInstallKeyDamaged) {
			return &apiError{statusOf(err), "tollgate: " + strings.TrimPrefix(err.Error(), "clients: ")}
		}
		return &apiError{C.TG_ERR_STATE, fmt.Sprintf("tollgate: cannot open the license state: %v", err)}
	}
	lic.l = l
	h := cgo.NewHandle(lic)
	*out = C.tgi_handle_ptr(C.uintptr_t(h))
	return nil
}

// loadCard reads the card file at path.
func loadCard(path string) (*wire.Card, error) {
	if path == "" {
		return nil, fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: the card path is empty")
	}
	c, err := wire.LoadCard(path)
	if err != nil {
		return nil, fail(C.TG_ERR_BAD_CARD, "tollgate: cannot read the server card: %v", err)
	}
	return c, nil
}

// keep returns s as a C string made once and kept for the life of the
// process (its pointer is held in C memory as well, see tgi_keep).
func keep(s string) *C.char { return C.tgi_keep(C.CString(s)) }

//export tg_version
func tg_version() *C.char {
	versionOnce.Do(func() { versionC = keep(version) })
	return versionC
}

var (
	versionOnce sync.Once
	versionC    *C.char // C memory, kept for the life of the process
)

//export tg_abi_version
func tg_abi_version() C.int { return abiVersion }

//export tg_last_error
func tg_last_error(buf *C.char, size C.size_t) C.size_t {
	return C.tgi_get_error(buf, size)
}

//export tg_open
func tg_open(cardPath, product, stateDir *C.char, out **C.tg_licensee) (st C.tg_status) {
	var err error
	defer finish(&st, &err)
	args := [3]*C.char{cardPath, product, stateDir}
	err = openArgs(out, func(i int, max int, name string, optional bool) (string, error) {
		return goString(args[i], max, name, optional)
	})
	return
}

//export tg_open_w
func tg_open_w(cardPath, product, stateDir *C.tg_wchar, out **C.tg_licensee) (st C.tg_status) {
	var err error
	defer finish(&st, &err)
	args := [3]*C.tg_wchar{cardPath, product, stateDir}
	err = openArgs(out, func(i int, max int, name string, optional bool) (string, error) {
		return goStringW(args[i], max, name, optional)
	})
	return
}

// openArgs opens a licensee from tg_open's three arguments, the card's
// path, the product and the state directory, which arg reads (the i-th,
// bounded by max bytes, named name in errors, optional or not) in the
// caller's encoding.
func openArgs(out **C.tg_licensee, arg func(i int, max int, name string, optional bool) (string, error)) error {
	if out == nil {
		return fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: out is NULL")
	}
	*out = nil
	var cfg clients.LicenseeConfig
	path, err := arg(0, maxPath, "card_path", false)
	if err != nil {
		return err
	}
	if cfg.Product, err = arg(1, maxShort, "product", false); err != nil {
		return err
	}
	if cfg.StateDir, err = arg(2, maxPath, "state_dir", true); err != nil {
		return err
	}
	if cfg.Card, err = loadCard(path); err != nil {
		return err
	}
	return open(cfg, out)
}

//export tg_open_ex
func tg_open_ex(o *C.tg_options, out **C.tg_licensee) (st C.tg_status) {
	var err error
	defer finish(&st, &err)
	if out == nil {
		err = fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: out is NULL")
		return
	}
	*out = nil
	if o == nil {
		err = fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: options is NULL")
		return
	}
	if uintptr(o.size) < unsafe.Sizeof(*o) {
		err = fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: options.size is %d, want sizeof(tg_options) = %d", o.size, unsafe.Sizeof(*o))
		return
	}
	if o.flags&^C.TG_OPEN_SYSTEM != 0 {
		err = fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: options.flags has unknown bits %#x", uint32(o.flags&^C.TG_OPEN_SYSTEM))
		return
	}
	cfg := clients.LicenseeConfig{System: o.flags&C.TG_OPEN_SYSTEM != 0, Timeout: time.Duration(o.timeout_ms) * time.Millisecond}
	if cfg.Product, err = goString(o.product, maxShort, "options.product", false); err != nil {
		return
	}
	if cfg.StateDir, err = goString(o.state_dir, maxPath, "options.state_dir", true); err != nil {
		return
	}
	if cfg.Explicit, err = goString(o.explicit_id, maxShort, "options.explicit_id", true); err != nil {
		return
	}
	if cfg.AppVersion, err = goString(o.app_version, maxShort, "options.app_version", true); err != nil {
		return
	}
	if cfg.Address, err = goString(o.address, maxShort, "options.address", true); err != nil {
		return
	}
	switch {
	case o.card_path != nil && o.card_text != nil:
		err = fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: give options.card_path or options.card_text, not both")
		return
	case o.card_path != nil:
		var path string
		if path, err = goString(o.card_path, maxPath, "options.card_path", false); err != nil {
			return
		}
		if cfg.Card, err = loadCard(path); err != nil {
			return
		}
	case o.card_text != nil:
		if o.card_len > wire.MaxCardSize {
			err = fail(C.TG_ERR_BAD_CARD, "tollgate: options.card_len is %d bytes; a card has at most %d", uint64(o.card_len), wire.MaxCardSize)
			return
		}
		text := C.GoBytes(unsafe.Pointer(o.card_text), C.int(o.card_len))
		if !utf8.Valid(text) {
			err = fail(C.TG_ERR_INVALID_UTF8, "tollgate: options.card_text is not valid UTF-8")
			return
		}
		if cfg.Card, err = wire.ParseCard(text); err != nil {
			err = fail(C.TG_ERR_BAD_CARD, "tollgate: the server card does not parse: %v", err)
			return
		}
	default:
		err = fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: no server card: set options.card_path or options.card_text")
		return
	}
	err = open(cfg, out)
	return
}

// checkDecision validates the caller's decision structure and zeroes
// what follows its size field.
func checkDecision(d *C.tg_decision) error {
	if d == nil {
		return fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: the decision is NULL")
	}
	if uintptr(d.size) < unsafe.Sizeof(*d) {
		return fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: decision.size is %d, want sizeof(tg_decision) = %d", d.size, unsafe.Sizeof(*d))
	}
	*d = C.tg_decision{size: d.size}
	return nil
}

// reasons numbers the clients.Reason values as tg_reason does.
var reasons = [...]clients.Reason{
	C.TG_REASON_NONE:               "",
	C.TG_REASON_OK:                 clients.ReasonOK,
	C.TG_REASON_OFFLINE:            clients.ReasonOffline,
	C.TG_REASON_NOT_ACTIVATED:      clients.ReasonNotActivated,
	C.TG_REASON_LEASE_INVALID:      clients.ReasonLeaseInvalid,
	C.TG_REASON_LEASE_FOREIGN:      clients.ReasonLeaseForeign,
	C.TG_REASON_OTHER_MACHINE:      clients.ReasonOtherMachine,
	C.TG_REASON_WRONG_PRODUCT:      clients.ReasonWrongProduct,
	C.TG_REASON_LEASE_EXPIRED:      clients.ReasonLeaseExpired,
	C.TG_REASON_LICENSE_EXPIRED:    clients.ReasonExpired,
	C.TG_REASON_ONLINE_OVERDUE:     clients.ReasonOnlineOverdue,
	C.TG_REASON_CLOCK_SET_BACK:     clients.ReasonClockBack,
	C.TG_REASON_REFUSED:            clients.ReasonRefused,
	C.TG_REASON_OTHER_LICENSE_HELD: clients.ReasonOtherLicense,
	C.TG_REASON_UNREACHABLE:        clients.ReasonUnreachable,
	C.TG_REASON_TIMEOUT:            clients.ReasonTimeout,
	C.TG_REASON_SERVER_ERROR:       clients.ReasonServerError,
	C.TG_REASON_CONNECTION:         clients.ReasonConnection,
	C.TG_REASON_WRONG_SERVER:       clients.ReasonWrongServer,
	C.TG_REASON_WRONG_CARD:         clients.ReasonWrongCard,
}

// reasonCode is the tg_reason of r. A reason this table lacks (one added
// to the Go library later) is TG_REASON_CONNECTION if undecided, else
// TG_REASON_REFUSED: never a number the header does not define.
func reasonCode(r clients.Reason) C.tg_reason {
	for i, x := range reasons {
		if x == r {
			return C.tg_reason(i)
		}
	}
	if r.Decided() {
		return C.TG_REASON_REFUSED
	}
	return C.TG_REASON_CONNECTION
}

// reasonNames and statusNames hold the static C strings of
// tg_reason_name and tg_status_name, made once.
var (
	namesOnce   sync.Once
	reasonNames []*C.char
	statusNames map[C.tg_status]*C.char
	unknownC    *C.char
)

// libStatusNames names the library's own statuses.
var libStatusNames = map[C.tg_status]string{
	C.TG_ERR_INVALID_ARGUMENT:    "ERR_INVALID_ARGUMENT",
	C.TG_ERR_INVALID_UTF8:        "ERR_INVALID_UTF8",
	C.TG_ERR_BUFFER_TOO_SMALL:    "ERR_BUFFER_TOO_SMALL",
	C.TG_ERR_BAD_CARD:            "ERR_BAD_CARD",
	C.TG_ERR_STATE:               "ERR_STATE",
	C.TG_ERR_INSTALL_KEY_DAMAGED: "ERR_INSTALL_KEY_DAMAGED",
	C.TG_ERR_INVALID_HANDLE:      "ERR_INVALID_HANDLE",
	C.TG_ERR_UNREACHABLE:         "ERR_UNREACHABLE",
	C.TG_ERR_TIMEOUT:             "ERR_TIMEOUT",
	C.TG_ERR_CONNECTION:          "ERR_CONNECTION",
	C.TG_ERR_WRONG_SERVER:        "ERR_WRONG_SERVER",
	C.TG_ERR_WRONG_CARD:          "ERR_WRONG_CARD",
	C.TG_ERR_INTERNAL:            "ERR_INTERNAL",
}

func makeNames() {
	unknownC = keep("UNKNOWN")
	reasonNames = make([]*C.char, len(reasons))
	for i, r := range reasons {
		reasonNames[i] = keep(string(r))
	}
	statusNames = map[C.tg_status]*C.char{}
	for s := wire.Status(0); s.Known(); s++ {
		statusNames[C.tg_status(s)] = keep(s.String())
	}
	for s, n := range libStatusNames {
		statusNames[s] = keep(n)
	}
}

//export tg_status_name
func tg_status_name(s C.tg_status) *C.char {
	namesOnce.Do(makeNames)
	if n, ok := statusNames[s]; ok {
		return n
	}
	return unknownC
}

//export tg_reason_name
func tg_reason_name(r C.tg_reason) *C.char {
	namesOnce.Do(makeNames)
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	unknownReasonOnce.Do(func() { unknownReason = keep("unknown") })
	return unknownReason
}

var (
	unknownReasonOnce sync.Once
	unknownReason     *C.char
)

// fill writes decision d, and the saved lease's times, into out (already
// zeroed past its size field). The strings are C memory, released by
// tg_decision_free.
func fill(out *C.tg_decision, d clients.Decision, s clients.Status) {
	if d.Allowed {
		out.allowed = 1
	}
	if d.Decided() {
		out.decided = 1
	}
	out.reason = reasonCode(d.Reason)
	if d.Contact != "" {
		out.contact = reasonCode(d.Contact)
	}
	out.server_status = C.tg_status(d.Status)
	out.level = C.int(d.Level)
	if s.Activated && s.Level != 0 {
		out.level = C.int(s.Level)
		out.lease_expiry = unixC(s.LeaseExpiry)
		out.license_expiry = unixC(s.LicenseExpiry)
		out.online_by = unixC(s.OnlineBy)
	}
	out.message = C.CString(d.Message)
	out.action = C.CString(d.Action)
	out.warning = C.CString(d.Warning)
	out.entitlements = C.tgi_alloc_strv(C.size_t(len(d.Entitlements)))
	for i, e := range d.Entitlements {
		C.tgi_strv_set(out.entitlements, C.size_t(i), C.CString(e))
	}
	out.entitlement_count = C.size_t(len(d.Entitlements))
}

func unixC(t time.Time) C.int64_t {
	if t.IsZero() {
		return 0
	}
	return C.int64_t(t.Unix())
}

//export tg_decision_free
func tg_decision_free(d *C.tg_decision) {
	defer func() { recover() }()
	if d == nil {
		return
	}
	C.free(unsafe.Pointer(d.message))
	C.free(unsafe.Pointer(d.action))
	C.free(unsafe.Pointer(d.warning))
	if d.entitlements != nil {
		for i := C.size_t(0); ; i++ {
			s := C.tgi_strv_get(d.entitlements, i)
			if s == nil {
				break
			}
			C.free(unsafe.Pointer(s))
		}
		C.free(unsafe.Pointer(d.entitlements))
	}
	d.message, d.action, d.warning, d.entitlements, d.entitlement_count = nil, nil, nil, nil, 0
}

//export tg_activate
func tg_activate(p *C.tg_licensee, key *C.char, out *C.tg_decision) (st C.tg_status) {
	var err error
	defer finish(&st, &err)
	if err = checkDecision(out); err != nil {
		return
	}
	err = calling(p, func(lic *licensee) error {
		ks, err := goString(key, maxKeyArg, "key", false)
		if err != nil {
			return err
		}
		k, perr := keygen.ParseKey(ks)
		if perr != nil {
			// ParseKey's errors never quote the key.
			return fail(C.TG_MALFORMED_KEY, "tollgate: that is not a valid license key (%v); check it for typos", perr)
		}
		d := lic.l.Activate(context.Background(), k)
		lic.timesValid = false
		fill(out, d, lic.leaseTimes(&d))
		return nil
	})
	return
}

//export tg_check
func tg_check(p *C.tg_licensee, mode C.tg_check_mode, out *C.tg_decision) (st C.tg_status) {
	var err error
	defer finish(&st, &err)
	if err = checkDecision(out); err != nil {
		return
	}
	err = calling(p, func(lic *licensee) error {
		var d clients.Decision
		switch mode {
		case C.TG_CHECK_POLICY:
			d = lic.l.Check(context.Background())
		case C.TG_CHECK_NOW:
			d = lic.l.CheckNow(context.Background())
		case C.TG_CHECK_OFFLINE:
			d = lic.l.CheckOffline()
		default:
			return fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: check mode %d is not one of TG_CHECK_POLICY, TG_CHECK_NOW, TG_CHECK_OFFLINE", uint32(mode))
		}
		fill(out, d, lic.leaseTimes(&d))
		return nil
	})
	return
}

//export tg_deactivate
func tg_deactivate(p *C.tg_licensee) (st C.tg_status) {
	var err error
	defer finish(&st, &err)
	err = calling(p, func(lic *licensee) error {
		if !lic.l.Status().Activated {
			return fail(C.TG_NOT_ACTIVATED, "tollgate: no license is activated here")
		}
		derr := lic.l.Deactivate(context.Background())
		lic.leaseTimes(nil)
		if derr != nil {
			return &apiError{statusOf(derr), "tollgate: deactivate: " + strings.TrimPrefix(derr.Error(), "clients: ")}
		}
		return nil
	})
	return
}

//export tg_fingerprint
func tg_fingerprint(p *C.tg_licensee, buf *C.char, size C.size_t, needed *C.size_t) (st C.tg_status) {
	var err error
	defer finish(&st, &err)
	err = calling(p, func(lic *licensee) error {
		fp := lic.l.Fingerprint()
		var b strings.Builder
		for i, c := range fp.Components() {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(c.Kind.String())
			b.WriteByte(' ')
			b.WriteString(hex.EncodeToString(c.Hash[:]))
		}
		return copyOut(b.String(), buf, size, needed, "fingerprint")
	})
	return
}

// copyOut copies s and its NUL into buf of size bytes, or, when it does
// not fit, writes nothing and fails with TG_ERR_BUFFER_TOO_SMALL. *needed
// (when not NULL) gets the bytes s needs.
func copyOut(s string, buf *C.char, size C.size_t, needed *C.size_t, what string) error {
	n := len(s) + 1
	if needed != nil {
		*needed = C.size_t(n)
	}
	if buf == nil && size != 0 {
		return fail(C.TG_ERR_INVALID_ARGUMENT, "tollgate: buf is NULL but size is %d", uint64(size))
	}
	if uint64(size) < uint64(n) {
		return fail(C.TG_ERR_BUFFER_TOO_SMALL, "tollgate: the %s needs %d bytes, the buffer has %d", what, n, uint64(size))
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), n)
	copy(dst, s)
	dst[n-1] = 0
	return nil
}

//export tg_close
func tg_close(p *C.tg_licensee) (st C.tg_status) {
	var err error
	defer finish(&st, &err)
	if p == nil {
		return
	}
	h := cgo.Handle(C.tgi_ptr_handle(p))
	lic, ok := handleValue(h)
	if !ok {
		err = fail(C.TG_ERR_INVALID_HANDLE, "tollgate: not an open handle (closed already, or never returned by tg_open)")
		return
	}
	lic.mu.Lock()
	defer lic.mu.Unlock()
	if lic.closed {
		err = fail(C.TG_ERR_INVALID_HANDLE, "tollgate: the handle is closed already")
		return
	}
	lic.closed = true
	h.Delete()
	if cerr := lic.l.Close(); cerr != nil {
		err = &apiError{C.TG_ERR_CONNECTION, "tollgate: closing the connection: " + cerr.Error()}
	}
	return
}
