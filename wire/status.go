package wire

import "strconv"

// Status is the outcome of a request, as carried in an ErrorResponse and in
// the status field of responses. The numeric values are part of the wire
// format: never renumber one, only add.
type Status uint16

// Status codes. Part of the wire format.
const (
	StatusOK                  Status = 0  // the request succeeded
	StatusNotFound            Status = 1  // no such license key or license
	StatusMalformedKey        Status = 2  // the key is not a well-formed license key (typo, bad check character)
	StatusSuspended           Status = 3  // the license is suspended by the publisher or shop
	StatusRevoked             Status = 4  // the license was revoked (refund, abuse)
	StatusExpired             Status = 5  // the license term is over
	StatusNoSeats             Status = 6  // every seat is taken by other machines
	StatusFingerprintMismatch Status = 7  // this activation belongs to another machine
	StatusFingerprintRejected Status = 8  // the fingerprint is bogus (too few components, zeros)
	StatusNotActivated        Status = 9  // the license is not activated on this install
	StatusProductMismatch     Status = 10 // the key is for another product
	StatusRateLimited         Status = 11 // too many requests; retry later
	StatusShopNotAllowed      Status = 12 // the shop may not do this (address, product, key)
	StatusOrderConflict       Status = 13 // the order id was used with a different request
	StatusServerError         Status = 14 // the gateway failed; retry later
	StatusUnsupportedVersion  Status = 15 // the peer speaks a protocol version this one does not
	StatusBadRequest          Status = 16 // the request is malformed or not allowed on this channel
	StatusQuotaExceeded       Status = 17 // the shop's daily key quota is used up
	StatusInstallCloned       Status = 18 // the install's state was copied: its validation counter went back
	StatusTrialUsed           Status = 19 // this machine already had its trial of the product
	StatusNoTrial             Status = 20 // the product offers no trial
	StatusBaseMissing         Status = 21 // a plug-in's base product is not licensed on this machine
	StatusResetLimit          Status = 22 // the license's self-service resets are used up for now
	StatusRequestMismatch     Status = 23 // an offline answer or release does not belong to this request/machine
)

var statusNames = [...]string{
	StatusOK:                  "OK",
	StatusNotFound:            "NOT_FOUND",
	StatusMalformedKey:        "MALFORMED_KEY",
	StatusSuspended:           "SUSPENDED",
	StatusRevoked:             "REVOKED",
	StatusExpired:             "EXPIRED",
	StatusNoSeats:             "NO_SEATS",
	StatusFingerprintMismatch: "FINGERPRINT_MISMATCH",
	StatusFingerprintRejected: "FINGERPRINT_REJECTED",
	StatusNotActivated:        "NOT_ACTIVATED",
	StatusProductMismatch:     "PRODUCT_MISMATCH",
	StatusRateLimited:         "RATE_LIMITED",
	StatusShopNotAllowed:      "SHOP_NOT_ALLOWED",
	StatusOrderConflict:       "ORDER_CONFLICT",
	StatusServerError:         "SERVER_ERROR",
	StatusUnsupportedVersion:  "UNSUPPORTED_VERSION",
	StatusBadRequest:          "BAD_REQUEST",
	StatusQuotaExceeded:       "QUOTA_EXCEEDED",
	StatusInstallCloned:       "INSTALL_CLONED",
	StatusTrialUsed:           "TRIAL_USED",
	StatusNoTrial:             "NO_TRIAL",
	StatusBaseMissing:         "BASE_MISSING",
	StatusResetLimit:          "RESET_LIMIT",
	StatusRequestMismatch:     "REQUEST_MISMATCH",
}

// String returns the status name, such as "NO_SEATS".
func (s Status) String() string {
	if int(s) < len(statusNames) && statusNames[s] != "" {
		return statusNames[s]
	}
	return "STATUS_" + strconv.Itoa(int(s))
}

// Known reports whether s is a status this version of the protocol defines.
func (s Status) Known() bool { return int(s) < len(statusNames) && statusNames[s] != "" }

// Retryable reports whether the same request may succeed later without the
// caller changing anything.
func (s Status) Retryable() bool {
	return s == StatusRateLimited || s == StatusServerError
}
