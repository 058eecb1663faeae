package service

import (
	"errors"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// Kind is what a refusal means to its caller: each kind is one status on
// the wire (StatusOf), one problem type on an HTTP bridge, one code on the
// admin socket.
type Kind uint8

// Kinds of refusal.
const (
	KindInternal            Kind = iota // the gateway failed; retry later
	KindBadRequest                      // the request is not allowed as it is
	KindNotFound                        // no such license (or not this shop's)
	KindNotActivated                    // the license is not activated on this install
	KindMalformedKey                    // not a well-formed license key
	KindSuspended                       // the license is suspended
	KindRevoked                         // the license was revoked
	KindExpired                         // the license's term is over
	KindNoSeats                         // every seat is taken
	KindFingerprintMismatch             // the activation belongs to another machine
	KindFingerprintRejected             // the fingerprint is not usable
	KindInstallCloned                   // the install's state is in use on two machines
	KindRateLimited                     // too many unknown keys from this address
	KindShopNotAllowed                  // the shop may not do this
	KindOrderConflict                   // the order id was used for another order
	KindQuotaExceeded                   // the shop's daily quota is used up
	KindRequestMismatch                 // an offline request or release proof is not for this gateway, machine or activation
	KindTrialUsed                       // this machine already had its trial of the product
	KindNoTrial                         // the product offers no keyless trial
	KindBaseMissing                     // a plug-in's base product is not licensed on this install
	KindResetLimit                      // the license's self-service seat resets are used up for now
)

// statuses is the one place a refusal's kind becomes a wire status.
var statuses = [...]wire.Status{
	KindInternal:            wire.StatusServerError,
	KindBadRequest:          wire.StatusBadRequest,
	KindNotFound:            wire.StatusNotFound,
	KindNotActivated:        wire.StatusNotActivated,
	KindMalformedKey:        wire.StatusMalformedKey,
	KindSuspended:           wire.StatusSuspended,
	KindRevoked:             wire.StatusRevoked,
	KindExpired:             wire.StatusExpired,
	KindNoSeats:             wire.StatusNoSeats,
	KindFingerprintMismatch: wire.StatusFingerprintMismatch,
	KindFingerprintRejected: wire.StatusFingerprintRejected,
	KindInstallCloned:       wire.StatusInstallCloned,
	KindRateLimited:         wire.StatusRateLimited,
	KindShopNotAllowed:      wire.StatusShopNotAllowed,
	KindOrderConflict:       wire.StatusOrderConflict,
	KindQuotaExceeded:       wire.StatusQuotaExceeded,
	KindRequestMismatch:     wire.StatusRequestMismatch,
	KindTrialUsed:           wire.StatusTrialUsed,
	KindNoTrial:             wire.StatusNoTrial,
	KindBaseMissing:         wire.StatusBaseMissing,
	KindResetLimit:          wire.StatusResetLimit,
}

// Status returns the wire status of refusals of kind k.
func (k Kind) Status() wire.Status {
	if int(k) < len(statuses) {
		return statuses[k]
	}
	return wire.StatusServerError
}

// Error is a refusal: its kind, and a sentence for the person who meets
// it (the end user, the shop, the operator), never holding a key or a
// secret.
type Error struct {
	Kind Kind
	Msg  string
}

// Error is the sentence. Where the status matters to a reader (an
// operator's command), the caller says it: e.Kind.Status().
func (e *Error) Error() string { return e.Msg }

// Is makes every refusal of a kind match that kind's sentinel:
// errors.Is(err, service.ErrNoSeats) whatever the sentence.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind
}

// refuse returns a refusal of kind k saying msg.
func refuse(k Kind, msg string) *Error { return &Error{Kind: k, Msg: msg} }

// refusef returns a refusal of kind k saying the formatted text.
func refusef(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// The refusals, one sentinel a kind, each with the sentence it is most
// often given with. Sentences that the service words differently by
// context are refusals of the same kind (errors.Is matches them).
var (
	ErrBadRequest          = refuse(KindBadRequest, "the request is not allowed")
	ErrNotFound            = refuse(KindNotFound, "no such license")
	ErrNotActivated        = refuse(KindNotActivated, "this license is not activated on this installation")
	ErrMalformedKey        = refuse(KindMalformedKey, "this is not a valid license key; check it for typos")
	ErrSuspended           = refuse(KindSuspended, "this license is suspended; contact the vendor")
	ErrRevoked             = refuse(KindRevoked, "this license was revoked")
	ErrExpired             = refuse(KindExpired, "this license has expired; renew it to go on")
	ErrNoSeats             = refuse(KindNoSeats, "every seat of this license is in use; deactivate another machine first")
	ErrFingerprintMismatch = refuse(KindFingerprintMismatch, "this activation belongs to another machine; activate the license here")
	ErrFingerprintRejected = refuse(KindFingerprintRejected, "the machine fingerprint is not usable")
	ErrInstallCloned       = refuse(KindInstallCloned, "this installation's license state is also in use on another computer (its check counter went back); activate the license again here")
	ErrRateLimited         = refuse(KindRateLimited, "too many unknown license keys from this address; try again later")
	ErrShopNotAllowed      = refuse(KindShopNotAllowed, "this shop may not do this")
	ErrOrderConflict       = refuse(KindOrderConflict, "this order id was used for a different order")
	ErrQuotaExceeded       = refuse(KindQuotaExceeded, "the shop's daily key quota is used up")
	ErrRequestMismatch     = refuse(KindRequestMismatch, "this file was not made for this license server, or was changed since; make it again on the machine with this server's card")
	ErrTrialUsed           = refuse(KindTrialUsed, "this computer has already had its trial of this product; buy a license key to go on")
	ErrNoTrial             = refuse(KindNoTrial, "this product offers no trial; buy a license key to use it")
	ErrBaseMissing         = refuse(KindBaseMissing, "this plug-in needs a license of the product it extends on this installation; activate that product first, then the plug-in")
	ErrResetLimit          = refuse(KindResetLimit, "the self-service seat resets of this license are used up for now; try again later or contact the publisher")
)

// Refusals worded for where they happen.
var (
	errActivatedElsewhere = refuse(KindFingerprintMismatch, "this installation was activated on another machine")
	errUnknownKey         = refuse(KindNotFound, "no license has this key; check it, or contact the vendor")
	errShopUnknownKey     = refuse(KindNotFound, "no license has this key")
	errShopMalformedKey   = refuse(KindMalformedKey, "this is not a valid license key")
	errShopProduct        = refuse(KindShopNotAllowed, "this shop may not mint this product")
	errNotInCatalogue     = refuse(KindNotFound, "the product is not in the catalogue")
	errExpiryPast         = refuse(KindBadRequest, "the expiry date is in the past")
	errProductCode        = refuse(KindBadRequest, "malformed product code")
)

// rateLimited refuses an address that must wait d before its next
// unknown key.
func rateLimited(d time.Duration) *Error {
	return refusef(KindRateLimited, "too many unknown license keys from this address; try again in %s", d.Round(time.Second))
}

// KindOf returns the kind of err: a refusal's own, the store's not-found
// and not-activated as those kinds, KindInternal for any other error.
func KindOf(err error) Kind {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Kind
	case errors.Is(err, store.ErrNotFound):
		return KindNotFound
	case errors.Is(err, store.ErrNotActivated):
		return KindNotActivated
	}
	return KindInternal
}

// StatusOf returns what a caller is told of err: its wire status and a
// sentence. internal is true for a failure of the gateway rather than a
// refusal (the sentence then says to retry, and the caller logs err).
func StatusOf(err error) (st wire.Status, msg string, internal bool) {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Kind.Status(), e.Msg, e.Kind == KindInternal
	case errors.Is(err, store.ErrNotFound):
		return wire.StatusNotFound, ErrNotFound.Msg, false
	case errors.Is(err, store.ErrNotActivated):
		return wire.StatusNotActivated, ErrNotActivated.Msg, false
	}
	return wire.StatusServerError, "the gateway could not complete the request; try again later", true
}
