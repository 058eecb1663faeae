package bridge

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/wire"
)

// Problem is an RFC 9457 problem document, the body of every refusal
// (Content-Type application/problem+json). Type is a URN,
// urn:tollgate:problem:NAME, one NAME per kind of refusal; GatewayStatus
// is the gateway's status name (ORDER_CONFLICT, QUOTA_EXCEEDED, ...) when
// the gateway refused. Detail is a sentence for a person: the gateway's
// own when it refused, never a Go error's text, a key or a secret.
type Problem struct {
	Type          string `json:"type"`
	Title         string `json:"title"`
	Status        int    `json:"status"`
	Detail        string `json:"detail"`
	GatewayStatus string `json:"gateway_status,omitempty"`
	// RetryAfter, when not zero, is also sent as the Retry-After header,
	// in whole seconds.
	RetryAfter int `json:"retry_after,omitempty"`
}

// problemURN prefixes the name of a problem type.
const problemURN = "urn:tollgate:problem:"

// writeProblem sends p.
func writeProblem(w http.ResponseWriter, p Problem) {
	p.Type = problemURN + p.Type
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// badRequest is a refusal of the request's content, before the gateway is
// asked.
func badRequest(detail string) Problem {
	return Problem{Status: http.StatusBadRequest, Type: "invalid-request", Title: "Invalid request", Detail: detail}
}

// problemOf turns an error of the shop channel into the problem the shop
// can act on. what names the request's subject for NOT_FOUND ("order",
// "license", "product").
func problemOf(err error, what string, now time.Time) Problem {
	var se *wire.StatusError
	switch {
	case errors.As(err, &se):
		return gatewayProblem(se, what, now)
	case errors.Is(err, clients.ErrUnreachable), errors.Is(err, clients.ErrConnection),
		errors.Is(err, clients.ErrTimeout), errors.Is(err, clients.ErrClosed),
		errors.Is(err, errProbeUnanswered):
		return Problem{Status: http.StatusServiceUnavailable, Type: "gateway-unreachable", Title: "The gateway cannot be reached",
			Detail:     "The license gateway did not answer; nothing is known to have changed. Retry the same request later (an order retried with the same order id never mints twice).",
			RetryAfter: 5}
	case errors.Is(err, clients.ErrHandshake):
		return Problem{Status: http.StatusBadGateway, Type: "wrong-gateway", Title: "The server is not the gateway the card names",
			Detail: "The server that answered did not prove the identity in the bridge's server card; check the card."}
	case errors.Is(err, clients.ErrProtocol):
		return Problem{Status: http.StatusBadGateway, Type: "gateway-protocol", Title: "The gateway's answer is malformed",
			Detail: "The gateway answered with something the bridge cannot read; check that the bridge and gateway versions match."}
	case errors.Is(err, clients.ErrConfig):
		return badRequest("The request cannot be sent on the shop channel; check each field against 'tollgate-shop openapi'.")
	}
	return Problem{Status: http.StatusInternalServerError, Type: "internal", Title: "The bridge failed",
		Detail: "The bridge failed to handle the request; its log says more. Retry later."}
}

// gatewayProblem maps a gateway's refusal to an HTTP status.
func gatewayProblem(se *wire.StatusError, what string, now time.Time) Problem {
	p := Problem{GatewayStatus: se.Status.String(), Detail: sentence(se)}
	switch se.Status {
	case wire.StatusBadRequest, wire.StatusMalformedKey:
		p.Status, p.Type, p.Title = http.StatusBadRequest, "invalid-request", "The gateway refused the request as invalid"
	case wire.StatusNotFound:
		p.Status, p.Type, p.Title = http.StatusNotFound, "not-found", "No such "+what
		if what == "license" {
			p.Detail = "No license of this shop has this key (a key another shop sold is answered as unknown)."
		}
	case wire.StatusShopNotAllowed:
		p.Status, p.Type, p.Title = http.StatusForbidden, "shop-not-allowed", "The gateway does not allow this shop to do this"
	case wire.StatusOrderConflict:
		p.Status, p.Type, p.Title = http.StatusConflict, "order-conflict", "The order id was used for another order"
	case wire.StatusSuspended, wire.StatusRevoked, wire.StatusExpired:
		p.Status, p.Type, p.Title = http.StatusConflict, "license-state", "The license's state does not allow this"
	case wire.StatusQuotaExceeded:
		p.Status, p.Type, p.Title = http.StatusTooManyRequests, "quota-exceeded", "The shop's daily key quota is used up"
		// The quota is per UTC day.
		p.RetryAfter = int(now.UTC().Truncate(24*time.Hour).Add(24*time.Hour).Sub(now).Seconds()) + 1
	case wire.StatusResetLimit:
		p.Status, p.Type, p.Title = http.StatusTooManyRequests, "reset-limit", "The license's self-service seat resets are used up for now"
	case wire.StatusNotActivated:
		p.Status, p.Type, p.Title = http.StatusNotFound, "not-activated", "No such machine holds a seat of the license"
	case wire.StatusRateLimited:
		p.Status, p.Type, p.Title, p.RetryAfter = http.StatusTooManyRequests, "rate-limited", "Too many requests", 60
	case wire.StatusServerError:
		p.Status, p.Type, p.Title, p.RetryAfter = http.StatusServiceUnavailable, "gateway-error", "The gateway could not do it now", 30
	case wire.StatusRequestMismatch:
		p.Status, p.Type, p.Title = http.StatusUnprocessableEntity, "request-mismatch", "The file was not made for this gateway, or was changed"
	case wire.StatusNoSeats, wire.StatusFingerprintMismatch:
		p.Status, p.Type, p.Title = http.StatusConflict, "seat-state", "The license's seats do not allow this"
	default:
		p.Status, p.Type, p.Title = http.StatusBadGateway, "gateway-refused", "The gateway refused"
	}
	return p
}

// sentence is the gateway's message, or its status said in words.
func sentence(se *wire.StatusError) string {
	if se.Message == "" {
		return "The gateway answered " + se.Status.String() + "."
	}
	return "The gateway answered " + se.Status.String() + ": " + se.Message + "."
}
