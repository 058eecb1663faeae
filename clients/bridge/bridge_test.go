package bridge

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/keygen"
)

func order(id string, count int, extra map[string]any) map[string]any {
	o := map[string]any{"order_id": id, "product": "1AJS2", "count": count}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

// TestOrders: an order is minted by the real gateway and answered 201 with
// its keys; the same order again is 200 with the same keys; the order id
// with another specification is 409 with the gateway's ORDER_CONFLICT; GET
// answers the order with its keys.
func TestOrders(t *testing.T) {
	t.Parallel()
	f := start(t, fixtureOpts{})
	body := order("WEB-1", 3, map[string]any{"seats": 2, "term": map[string]any{"years": 2}, "features": []string{"export.pdf"}})
	a := f.do(t, "POST", "/v1/orders", body)
	if a.status != http.StatusCreated {
		t.Fatalf("POST /v1/orders: %d %s", a.status, a.body)
	}
	var first OrderResponse
	decode(t, a, &first)
	if first.OrderID != "WEB-1" || first.Product != "1AJS2" || len(first.Keys) != 3 {
		t.Fatalf("answer %+v", first.OrderID)
	}
	for i, s := range first.Keys {
		if k, err := keygen.ParseKey(s); err != nil || k.Product().String() != "1AJS2" {
			t.Fatalf("key %d is not a key of 1AJS2: %v", i, err)
		}
	}
	a = f.do(t, "POST", "/v1/orders", body)
	var again OrderResponse
	decode(t, a, &again)
	if a.status != http.StatusOK || !slices.Equal(again.Keys, first.Keys) {
		t.Fatalf("retry: status %d, same keys %v; want 200 and the same keys", a.status, slices.Equal(again.Keys, first.Keys))
	}
	if n := f.licenses(t); n != 3 {
		t.Fatalf("%d licenses after an order of 3 and its retry", n)
	}
	a = f.do(t, "POST", "/v1/orders", order("WEB-1", 4, nil))
	if p := a.problem(t); a.status != http.StatusConflict || p.GatewayStatus != "ORDER_CONFLICT" {
		t.Fatalf("conflicting order: %d %s", a.status, a.body)
	}
	a = f.do(t, "GET", "/v1/orders/WEB-1", nil)
	var got OrderResponse
	decode(t, a, &got)
	if a.status != http.StatusOK || got.OrderID != "WEB-1" || !slices.Equal(got.Keys, first.Keys) {
		t.Fatalf("GET /v1/orders/WEB-1: %d, same keys %v", a.status, slices.Equal(got.Keys, first.Keys))
	}
	a = f.do(t, "GET", "/v1/orders/NOPE", nil)
	if p := a.problem(t); a.status != http.StatusNotFound || p.GatewayStatus != "NOT_FOUND" {
		t.Fatalf("GET of an unknown order: %d %s", a.status, a.body)
	}
	if n := f.licenses(t); n != 3 {
		t.Fatalf("%d licenses after a refused conflict, want 3", n)
	}
}

// TestOrderRefusals: each bad order is refused with a problem document of
// the right status, naming the gateway's status when the gateway refused,
// and nothing is minted.
func TestOrderRefusals(t *testing.T) {
	t.Parallel()
	f := start(t, fixtureOpts{quota: 5})
	huge := `{"order_id":"BIG","product":"1AJS2","count":1,"features":["` + strings.Repeat("a", MaxBody) + `"]}`
	for _, c := range []struct {
		name    string
		body    any
		status  int
		gateway string // the gateway's status, when it is the gateway that refuses
		detail  string // in the problem's detail
	}{
		{"malformed JSON", `{"order_id": "A-1", "product": `, 400, "", "not valid JSON"},
		{"not an object", `[1, 2]`, 400, "", "JSON object"},
		{"two values", `{"order_id":"A-1","product":"1AJS2","count":1} {}`, 400, "", "more than one"},
		{"empty body", ``, 400, "", "empty"},
		{"unknown field", order("A-2", 1, map[string]any{"colour": "red"}), 400, "", `"colour"`},
		{"level", order("A-3", 1, map[string]any{"level": 2}), 400, "", "level"},
		{"count 0", order("A-4", 0, nil), 400, "", "count"},
		{"count negative", order("A-5", -1, nil), 400, "", "count"},
		{"count over 10,000", order("A-6", 10001, nil), 400, "", "count"},
		{"count not a number", order("A-7", 1, map[string]any{"count": "2"}), 400, "", `"count"`},
		{"seats negative", order("A-8", 1, map[string]any{"seats": -1}), 400, "", `"seats"`},
		{"seats over the product's", order("A-9", 1, map[string]any{"seats": 101}), 400, "BAD_REQUEST", "1..100"},
		{"order id empty", order("", 1, nil), 400, "", "order_id"},
		{"order id too long", order(strings.Repeat("x", 65), 1, nil), 400, "", "order_id"},
		{"order id not printable", order("A\n1", 1, nil), 400, "", "printable"},
		{"product malformed", order("A-10", 1, map[string]any{"product": "1AJS"}), 400, "", "product"},
		{"product the shop may not sell", order("A-11", 1, map[string]any{"product": "1AJS3"}), 403, "SHOP_NOT_ALLOWED", "may not mint"},
		{"product not in the catalogue", order("A-12", 1, map[string]any{"product": "9ZZZZ"}), 404, "NOT_FOUND", "catalogue"},
		{"term empty", order("A-13", 1, map[string]any{"term": map[string]any{}}), 400, "", "term is empty"},
		{"term of two kinds", order("A-14", 1, map[string]any{"term": map[string]any{"years": 1, "months": 2}}), 400, "", "more than one"},
		{"term too long", order("A-15", 1, map[string]any{"term": map[string]any{"years": 11}}), 400, "", "at most 10 years"},
		{"term unknown unit", order("A-16", 1, map[string]any{"term": map[string]any{"weeks": 2}}), 400, "", `"weeks"`},
		{"expiry malformed", order("A-17", 1, map[string]any{"expiry": "tomorrow"}), 400, "", "YYYY-MM-DD"},
		{"expiry past", order("A-18", 1, map[string]any{"expiry": "2001-01-01"}), 400, "", "past"},
		{"over the shop's quota", order("A-19", 6, nil), 429, "QUOTA_EXCEEDED", "quota"},
		{"body over 64 KiB", huge, 413, "", "larger than"},
	} {
		a := f.do(t, "POST", "/v1/orders", c.body)
		p := a.problem(t)
		if a.status != c.status || p.GatewayStatus != c.gateway || !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%s: %d %s; want %d, gateway status %q, detail with %q", c.name, a.status, a.body, c.status, c.gateway, c.detail)
		}
		if strings.Contains(string(a.body), "json:") || strings.Contains(string(a.body), "clients:") {
			t.Errorf("%s: a Go error in the answer: %s", c.name, a.body)
		}
		if c.status == 429 {
			if s, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || s < 1 || s > 86401 {
				t.Errorf("%s: Retry-After %q, want the seconds to the next UTC day", c.name, a.header.Get("Retry-After"))
			}
		}
	}
	if n := f.licenses(t); n != 0 {
		t.Fatalf("%d licenses minted by refused orders", n)
	}
	a := f.do(t, "POST", "/v1/orders", order("OK-1", 1, nil))
	if a.status != http.StatusCreated {
		t.Fatalf("a good order after the refusals: %d %s", a.status, a.body)
	}
	req, _ := http.NewRequest("POST", f.url+"/v1/orders", strings.NewReader(`order_id=OK-2`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("a form body: %d, want 415 with a problem document", resp.StatusCode)
	}
	a = f.do(t, "PUT", "/v1/orders", order("OK-2", 1, nil))
	if a.problem(t); a.status != http.StatusMethodNotAllowed || a.header.Get("Allow") != "POST" {
		t.Fatalf("PUT /v1/orders: %d, Allow %q", a.status, a.header.Get("Allow"))
	}
}
