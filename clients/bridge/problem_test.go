package bridge

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/wire"
)

// TestProblemOf: each gateway status and each failure of the shop channel
// becomes the HTTP status the OpenAPI document promises, with the
// gateway's status name, and never the Go error's text.
func TestProblemOf(t *testing.T) {
	now := time.Date(2026, 11, 27, 23, 59, 0, 0, time.UTC)
	for _, c := range []struct {
		err        error
		status     int
		gateway    string
		retryAfter int
	}{
		{&wire.StatusError{Status: wire.StatusBadRequest, Message: "seats out of range"}, 400, "BAD_REQUEST", 0},
		{&wire.StatusError{Status: wire.StatusMalformedKey}, 400, "MALFORMED_KEY", 0},
		{&wire.StatusError{Status: wire.StatusNotFound}, 404, "NOT_FOUND", 0},
		{&wire.StatusError{Status: wire.StatusShopNotAllowed}, 403, "SHOP_NOT_ALLOWED", 0},
		{&wire.StatusError{Status: wire.StatusOrderConflict}, 409, "ORDER_CONFLICT", 0},
		{&wire.StatusError{Status: wire.StatusRevoked}, 409, "REVOKED", 0},
		{&wire.StatusError{Status: wire.StatusSuspended}, 409, "SUSPENDED", 0},
		{&wire.StatusError{Status: wire.StatusExpired}, 409, "EXPIRED", 0},
		{&wire.StatusError{Status: wire.StatusQuotaExceeded}, 429, "QUOTA_EXCEEDED", 61},
		{&wire.StatusError{Status: wire.StatusRateLimited}, 429, "RATE_LIMITED", 60},
		{&wire.StatusError{Status: wire.StatusServerError}, 503, "SERVER_ERROR", 30},
		{&wire.StatusError{Status: wire.StatusUnsupportedVersion}, 502, "UNSUPPORTED_VERSION", 0},
		{fmt.Errorf("%w: dial udp 10.0.0.1:7443: no route", clients.ErrUnreachable), 503, "", 5},
		{fmt.Errorf("%w: read: reset", clients.ErrConnection), 503, "", 5},
		{clients.ErrTimeout, 503, "", 5},
		{fmt.Errorf("%w: pin mismatch", clients.ErrHandshake), 502, "", 0},
		{fmt.Errorf("%w: short answer", clients.ErrProtocol), 502, "", 0},
		{fmt.Errorf("something else broke"), 500, "", 0},
	} {
		p := problemOf(c.err, "license", now)
		if p.Status != c.status || p.GatewayStatus != c.gateway || p.RetryAfter != c.retryAfter || p.Title == "" || p.Detail == "" {
			t.Errorf("%v: %+v; want %d %q retry %d", c.err, p, c.status, c.gateway, c.retryAfter)
		}
		if strings.Contains(p.Detail, "10.0.0.1") || strings.Contains(p.Detail, "clients:") || strings.Contains(p.Detail, "broke") {
			t.Errorf("%v: the detail holds the Go error: %q", c.err, p.Detail)
		}
		if p.Status >= http.StatusInternalServerError && p.Status != 502 && p.Status != 500 && p.RetryAfter == 0 {
			t.Errorf("%v: 503 without Retry-After", c.err)
		}
	}
}
