// Package adminapi is the typed API of a gateway's admin socket: the
// operations an operator runs on a gateway's catalogue, shops, licenses
// and audit log, each with its request and response type, the envelope
// that carries them on the socket, and a Client with one method per
// operation.
//
// On the socket, a request is one JSON line, a Request naming the
// operation (Op.Name) with the operation's request as its body; the
// answer is one JSON line, an Answer with the operation's response as its
// body, or an error sentence and a Code that says what kind of error it
// is. The gateway package serves it (a table of typed handlers), maps
// codes to its errors and back (errors.Is works across the socket), and
// opens a Client on a data directory: through the running gateway's
// socket, or in process on a stopped gateway's store (gateway.OpenAdmin).
//
// This package knows no transport and no store: it imports the store only
// for the records an operator sees.
package adminapi

import (
	"encoding/json"
	"errors"

	"github.com/tollgate/tollgate/store"
)

// Op is an operation: its name on the socket, tied to the type of its
// request and of its response.
type Op[Req, Resp any] struct{ Name string }

// The operations. Operations of the same shape share their types: the
// license operations all take a key (renew also a term) and answer the
// license afterwards.
var (
	OpProductAdd    = Op[store.Product, None]{"product.add"}
	OpProductUpdate = Op[store.Product, None]{"product.update"}
	OpProductList   = Op[None, Products]{"product.list"}
	OpProductShow   = Op[ProductCode, store.Product]{"product.show"}

	OpShopAdd    = Op[Shop, None]{"shop.add"}
	OpShopUpdate = Op[Shop, None]{"shop.update"}
	OpShopList   = Op[None, Shops]{"shop.list"}
	OpShopRemove = Op[ShopName, None]{"shop.remove"}

	OpLicenseShow    = Op[LicenseKey, License]{"license.show"}
	OpLicenseSuspend = Op[LicenseKey, License]{"license.suspend"}
	OpLicenseResume  = Op[LicenseKey, License]{"license.resume"}
	OpLicenseRevoke  = Op[LicenseKey, License]{"license.revoke"}
	OpLicenseRenew   = Op[Renewal, License]{"license.renew"}
	OpLicenseReset   = Op[LicenseKey, License]{"license.reset"}
	OpLicenseUnflag  = Op[LicenseKey, License]{"license.unflag"}
	OpLicenseFlagged = Op[None, Flagged]{"license.flagged"}

	OpAudit       = Op[AuditQuery, AuditLog]{"audit"}
	OpAuditVerify = Op[None, AuditVerified]{"audit.verify"}
	OpStats       = Op[None, Stats]{"stats"}
)

// None is the request of an operation that takes nothing and the response
// of one that answers nothing but success.
type None struct{}

// ProductCode names a catalogue product.
type ProductCode struct {
	Code string `json:"code"`
}

// Products is the catalogue.
type Products struct {
	Products []store.Product `json:"products"`
}

// Shop is a shop as an operator registers it.
type Shop struct {
	Name       string   `json:"name"`
	PublicKey  string   `json:"public_key"` // noisepub:...
	Networks   []string `json:"networks"`
	Products   []string `json:"products"`
	DailyQuota uint32   `json:"daily_quota,omitempty"`
}

// ShopName names a registered shop.
type ShopName struct {
	Name string `json:"name"`
}

// Shops are the registered shops.
type Shops struct {
	Shops []Shop `json:"shops"`
}

// LicenseKey names a license by its key, in any accepted spelling, or by
// its license id (32 hex digits, or the first 8 or more of them when only
// one id begins so: service.FindLicense). A key is a secret: it travels
// only over the private admin socket and is never logged, nor put in an
// error.
type LicenseKey struct {
	Key string `json:"key"`
}

// Renewal extends the license of Key by Term; a zero Term is the product's
// default.
type Renewal struct {
	Key  string     `json:"key"`
	Term store.Term `json:"term,omitempty"`
}

// License is what an operator sees of a license: never its key.
type License struct {
	License store.License `json:"license"`
	Status  string        `json:"status"`
	// Term says the term as an operator reads it: "until <RFC 3339 time>"
	// once renewed (the license record then stores a perpetual term bounded
	// by its absolute expiry), else such as "1 year(s) from first
	// activation" or "perpetual".
	Term        string             `json:"term"`
	Expiry      int64              `json:"expiry,omitempty"`
	Activations []store.Activation `json:"activations,omitempty"`
	// FlaggedAt (Unix seconds) and FlagReason say when and why the license
	// was flagged as a key shared among people (Config.FlagWindowDays).
	FlaggedAt  int64  `json:"flagged_at,omitempty"`
	FlagReason string `json:"flag_reason,omitempty"`
	// Machines and Networks are how many distinct ones activated it within
	// the last WindowDays days.
	Machines   int `json:"machines"`
	Networks   int `json:"networks"`
	WindowDays int `json:"window_days"`
}

// Flagged are the licenses flagged as shared, oldest flag first.
type Flagged struct {
	Licenses []License `json:"licenses"`
}

// AuditQuery asks for the audit entries from Since (Unix seconds) on.
type AuditQuery struct {
	Since int64 `json:"since,omitempty"`
}

// AuditLog is a part of the audit log.
type AuditLog struct {
	Entries []store.AuditEntry `json:"entries"`
}

// AuditVerified says how many audit entries the hash chain check covered.
type AuditVerified struct {
	Entries int `json:"entries"`
}

// Stats are a running gateway's counters since it started.
type Stats struct {
	Counters map[string]int64 `json:"counters"`
}

// Request is one request line on the socket.
type Request struct {
	Op   string          `json:"op"`
	Body json.RawMessage `json:"body,omitempty"`
}

// Answer is one answer line on the socket: Body, or Error and Code.
// Error comes first, so that a refusal of the connection (no code) is the
// line {"error":"permission denied: ..."}.
type Answer struct {
	Error string          `json:"error,omitempty"`
	Code  Code            `json:"code,omitempty"`
	Body  json.RawMessage `json:"body,omitempty"`
}

// Code says what kind of error an Answer carries, so that the client
// turns it back into an error errors.Is matches with the error the
// gateway met (the gateway's table, gateway/admin_codes.go). An error of
// no known kind has no code.
type Code string

// Codes of the gateway, the store and the service, and of this protocol.
const (
	CodeConfig          Code = "config"           // gateway.ErrConfig: the gateway's configuration is not valid
	CodeUsage           Code = "usage"            // gateway.ErrUsage: the command is not valid as given
	CodeNoIdentity      Code = "no_identity"      // gateway.ErrNoIdentity
	CodeIdentityCorrupt Code = "identity_corrupt" // gateway.ErrIdentityCorrupt
	CodeUnknownOp       Code = "unknown_op"       // ErrUnknownOp
	CodeMalformed       Code = "malformed"        // ErrMalformed

	CodeNotFound      Code = "not_found"      // store.ErrNotFound, service.ErrNotFound
	CodeNotActivated  Code = "not_activated"  // store.ErrNotActivated, service.ErrNotActivated
	CodeExists        Code = "exists"         // store.ErrExists
	CodeInvalid       Code = "invalid"        // store.ErrInvalid
	CodeStoreConfig   Code = "store_config"   // store.ErrConfig
	CodeOrderConflict Code = "order_conflict" // store.ErrOrderConflict, service.ErrOrderConflict
	CodeQuotaExceeded Code = "quota_exceeded" // store.ErrQuotaExceeded, service.ErrQuotaExceeded
	CodeLocked        Code = "locked"         // store.ErrLocked
	CodeClosed        Code = "closed"         // store.ErrClosed
	CodeCorrupt       Code = "corrupt"        // store.ErrCorrupt
	CodeAuditBroken   Code = "audit_broken"   // store.ErrAuditBroken

	CodeBadRequest          Code = "bad_request"          // service.ErrBadRequest
	CodeMalformedKey        Code = "malformed_key"        // service.ErrMalformedKey
	CodeSuspended           Code = "suspended"            // service.ErrSuspended
	CodeRevoked             Code = "revoked"              // service.ErrRevoked
	CodeExpired             Code = "expired"              // service.ErrExpired
	CodeNoSeats             Code = "no_seats"             // service.ErrNoSeats
	CodeFingerprintMismatch Code = "fingerprint_mismatch" // service.ErrFingerprintMismatch
	CodeFingerprintRejected Code = "fingerprint_rejected" // service.ErrFingerprintRejected
	CodeInstallCloned       Code = "install_cloned"       // service.ErrInstallCloned
	CodeRateLimited         Code = "rate_limited"         // service.ErrRateLimited
	CodeShopNotAllowed      Code = "shop_not_allowed"     // service.ErrShopNotAllowed
)

// Errors of the protocol itself.
var (
	ErrUnknownOp = errors.New("adminapi: unknown operation")
	ErrMalformed = errors.New("adminapi: malformed request")
)
