package gateway

import (
	"errors"

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// adminCodes is the one table between the errors an admin operation meets
// and the codes its answer carries on the admin socket, both ways: the
// gateway answers an error with the code of the first entry one of whose
// errors it matches (errors.Is), and the client turns a code back into an
// error that matches every error of its entry. A service refusal comes
// back as a *service.Error of its kind with the same sentence, so
// errors.Is matches its kind's sentinel and errors.As finds it. An error
// of no entry has no code and comes back as its sentence alone.
var adminCodes = []struct {
	code adminapi.Code
	errs []error
}{
	{adminapi.CodeConfig, []error{ErrConfig}},
	{adminapi.CodeUsage, []error{ErrUsage}},
	{adminapi.CodeNoIdentity, []error{ErrNoIdentity}},
	{adminapi.CodeIdentityCorrupt, []error{ErrIdentityCorrupt}},
	{adminapi.CodeUnknownOp, []error{adminapi.ErrUnknownOp}},
	{adminapi.CodeMalformed, []error{adminapi.ErrMalformed}},

	{adminapi.CodeNotFound, []error{store.ErrNotFound, service.ErrNotFound}},
	{adminapi.CodeNotActivated, []error{store.ErrNotActivated, service.ErrNotActivated}},
	{adminapi.CodeExists, []error{store.ErrExists}},
	{adminapi.CodeInvalid, []error{store.ErrInvalid}},
	{adminapi.CodeStoreConfig, []error{store.ErrConfig}},
	{adminapi.CodeOrderConflict, []error{store.ErrOrderConflict, service.ErrOrderConflict}},
	{adminapi.CodeQuotaExceeded, []error{store.ErrQuotaExceeded, service.ErrQuotaExceeded}},
	{adminapi.CodeLocked, []error{store.ErrLocked}},
	{adminapi.CodeClosed, []error{store.ErrClosed}},
	{adminapi.CodeCorrupt, []error{store.ErrCorrupt}},
	{adminapi.CodeAuditBroken, []error{store.ErrAuditBroken}},
	{adminapi.CodeNoSnapshot, []error{store.ErrNoSnapshot}},

	{adminapi.CodeBadRequest, []error{service.ErrBadRequest}},
	{adminapi.CodeMalformedKey, []error{service.ErrMalformedKey}},
	{adminapi.CodeSuspended, []error{service.ErrSuspended}},
	{adminapi.CodeRevoked, []error{service.ErrRevoked}},
	{adminapi.CodeExpired, []error{service.ErrExpired}},
	{adminapi.CodeNoSeats, []error{service.ErrNoSeats}},
	{adminapi.CodeFingerprintMismatch, []error{service.ErrFingerprintMismatch}},
	{adminapi.CodeFingerprintRejected, []error{service.ErrFingerprintRejected}},
	{adminapi.CodeInstallCloned, []error{service.ErrInstallCloned}},
	{adminapi.CodeRateLimited, []error{service.ErrRateLimited}},
	{adminapi.CodeShopNotAllowed, []error{service.ErrShopNotAllowed}},
	{adminapi.CodeRequestMismatch, []error{service.ErrRequestMismatch}},
}

// ErrorCode returns the code of err on the admin socket ("" if it has
// none): the stable name of its kind that the operator CLI prints with
// --json.
func ErrorCode(err error) adminapi.Code { return adminCode(err) }

// adminCode returns the code of err on the admin socket, "" if it has none.
func adminCode(err error) adminapi.Code {
	for _, e := range adminCodes {
		for _, target := range e.errs {
			if errors.Is(err, target) {
				return e.code
			}
		}
	}
	return ""
}

// adminAnswerError is the answer of an operation that failed with err.
func adminAnswerError(err error) adminapi.Answer {
	return adminapi.Answer{Error: err.Error(), Code: adminCode(err)}
}

// adminErrorOf turns an answer's code and sentence back into an error.
func adminErrorOf(code adminapi.Code, msg string) error {
	if err := codedError(code, msg); err != nil {
		return err
	}
	return errors.New(msg)
}

// adminErrorIn is err as the in-process client returns it: it matches
// what the socket client's error of the same code matches, and err itself.
func adminErrorIn(err error) error {
	ae := codedError(adminCode(err), err.Error())
	if ae == nil {
		return err
	}
	ae.errs = append(ae.errs, err)
	return ae
}

// codedError returns the error of code saying msg, nil if code has no
// entry.
func codedError(code adminapi.Code, msg string) *adminError {
	for _, e := range adminCodes {
		if e.code != code {
			continue
		}
		ae := &adminError{msg: msg}
		for _, target := range e.errs {
			if se, ok := target.(*service.Error); ok {
				target = &service.Error{Kind: se.Kind, Msg: msg}
			}
			ae.errs = append(ae.errs, target)
		}
		return ae
	}
	return nil
}

// adminError is an error answered on the admin socket: the gateway's
// sentence, matching the errors of its code.
type adminError struct {
	msg  string
	errs []error
}

func (e *adminError) Error() string   { return e.msg }
func (e *adminError) Unwrap() []error { return e.errs }
