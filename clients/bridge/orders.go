package bridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// OrderRequest is the body of POST /v1/orders. Count is required; zero
// Seats, an absent Term and no Features take the product's defaults.
type OrderRequest struct {
	OrderID  string   `json:"order_id"`
	Product  string   `json:"product"`
	Count    int      `json:"count"`
	Seats    uint32   `json:"seats,omitempty"`
	Term     *Term    `json:"term,omitempty"`
	Expiry   string   `json:"expiry,omitempty"` // YYYY-MM-DD, UTC: an absolute end
	Features []string `json:"features,omitempty"`
	// Level is accepted by the decoder only to be refused plainly: the
	// shop channel carries no validation level (it is the product's).
	Level *int `json:"level,omitempty"`
}

// Term is a license term: exactly one of its fields set.
type Term struct {
	Years     uint16 `json:"years,omitempty"`
	Months    uint16 `json:"months,omitempty"`
	Days      uint16 `json:"days,omitempty"`
	Perpetual bool   `json:"perpetual,omitempty"`
}

// OrderResponse answers POST /v1/orders and GET /v1/orders/{order_id}:
// the order's keys, in full (the only answer that carries keys).
// Created is the time the gateway placed the order (GET only).
type OrderResponse struct {
	OrderID string    `json:"order_id"`
	Product string    `json:"product"`
	Keys    []string  `json:"keys"`
	Created time.Time `json:"created,omitzero"`
}

// wireTerm checks t and returns it as the wire says it; nil is the
// product's default.
func (t *Term) wireTerm() (wire.Term, error) {
	if t == nil {
		return wire.Term{}, nil
	}
	var w wire.Term
	set := 0
	if t.Years != 0 {
		set, w = set+1, wire.Term{Kind: wire.TermYears, Value: t.Years}
	}
	if t.Months != 0 {
		set, w = set+1, wire.Term{Kind: wire.TermMonths, Value: t.Months}
	}
	if t.Days != 0 {
		set, w = set+1, wire.Term{Kind: wire.TermDays, Value: t.Days}
	}
	if t.Perpetual {
		set, w = set+1, wire.Term{Kind: wire.TermPerpetual}
	}
	switch {
	case set == 0:
		return wire.Term{}, errors.New(`the term is empty: give one of "years" (1..10), "months" (1..120), "days" (1..365) or "perpetual": true`)
	case set > 1:
		return wire.Term{}, errors.New(`the term gives more than one of "years", "months", "days", "perpetual"`)
	case t.Years > wire.MaxTermYears, t.Months > wire.MaxTermMonths, t.Days > wire.MaxTermDays:
		return wire.Term{}, fmt.Errorf("a term is at most %d years, %d months or %d days", wire.MaxTermYears, wire.MaxTermMonths, wire.MaxTermDays)
	}
	return w, nil
}

// check validates r and returns the product code and the spec to mint.
func (r *OrderRequest) check(now time.Time) (string, clients.MintSpec, error) {
	var spec clients.MintSpec
	switch {
	case r.Level != nil:
		return "", spec, errors.New(`"level" cannot be set per order: the shop channel carries no validation level, which is the product's (set by the gateway's operator)`)
	case r.OrderID == "":
		return "", spec, errors.New(`"order_id" is required`)
	case len(r.OrderID) > wire.MaxOrderIDLen:
		return "", spec, fmt.Errorf(`"order_id" is %d bytes, more than %d`, len(r.OrderID), wire.MaxOrderIDLen)
	case strings.IndexFunc(r.OrderID, func(c rune) bool { return c < 0x20 || c > 0x7e }) >= 0:
		return "", spec, errors.New(`"order_id" must be printable ASCII`)
	case r.Count < 1 || r.Count > wire.MaxMintCount:
		return "", spec, fmt.Errorf(`"count" must be 1 to %d keys`, wire.MaxMintCount)
	}
	p, err := keygen.ParseProductCode(strings.ToUpper(r.Product))
	if err != nil {
		return "", spec, errors.New(`"product" is not a product code (5 characters, 0-9 A-Z)`)
	}
	if spec.Term, err = r.Term.wireTerm(); err != nil {
		return "", spec, err
	}
	spec.Seats, spec.Entitlements = r.Seats, r.Features
	if _, err := wire.NewEntitlements(r.Features...); err != nil {
		return "", spec, errors.New(`"features" are not valid entitlement names`)
	}
	if r.Expiry != "" {
		if spec.Expiry, err = time.Parse(time.DateOnly, r.Expiry); err != nil {
			return "", spec, errors.New(`"expiry" must be a date, YYYY-MM-DD`)
		}
		if !spec.Expiry.After(now) {
			return "", spec, errors.New(`"expiry" is in the past`)
		}
	}
	return p.String(), spec, nil
}

// decodeJSON reads a JSON body of at most MaxBody bytes into v, refusing
// a media type other than application/json, unknown fields and anything
// after the value; an empty body is refused unless allowEmpty. It returns
// the problem to answer when it refuses.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) (p Problem, ok bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return Problem{Status: http.StatusUnsupportedMediaType, Type: "unsupported-media-type", Title: "Unsupported media type",
				Detail: "Send the body as application/json."}, false
		}
	}
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.More() || dec.Decode(new(json.RawMessage)) != io.EOF {
			return badRequest("The body holds more than one JSON value."), false
		}
		return Problem{}, true
	}
	var tooBig *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return Problem{Status: http.StatusRequestEntityTooLarge, Type: "body-too-large", Title: "Request body too large",
			Detail: fmt.Sprintf("The body is larger than %d bytes.", MaxBody)}, false
	case errors.Is(err, io.EOF):
		if allowEmpty {
			return Problem{}, true
		}
		return badRequest("The body is empty; send a JSON object."), false
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("The body is not valid JSON."), false
	case errors.As(err, &typ):
		if typ.Field != "" {
			return badRequest(fmt.Sprintf("Field %q has the wrong type or is out of range (want %s).", typ.Field, typ.Type)), false
		}
		return badRequest("The body must be a JSON object."), false
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no error type for it; the field's name is the
		// caller's own input, quoted.
		return badRequest("Unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ") + "."), false
	}
	return badRequest("The body cannot be read as the expected JSON object."), false
}

// writeJSON sends v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// postOrder mints an order's keys. It answers 201 the first time this
// process answers the order id, and 200 for every later answer to it (a
// retry): the gateway answers a retry exactly as the first request, so a
// retry after the bridge restarted is answered 201 again, with the same
// keys. A shop should treat 200 and 201 alike.
func (s *Server) postOrder(w http.ResponseWriter, r *http.Request) {
	var req OrderRequest
	if p, ok := decodeJSON(w, r, &req, false); !ok {
		writeProblem(w, p)
		return
	}
	now := time.Now()
	product, spec, err := req.check(now)
	if err != nil {
		writeProblem(w, badRequest(capital(err.Error())+"."))
		return
	}
	keys, err := s.shop.Mint(r.Context(), req.OrderID, product, req.Count, spec)
	s.health.saw(err)
	if err != nil {
		writeProblem(w, problemOf(err, "product", now))
		s.log.Info("order refused", "order", req.OrderID, "error", err)
		return
	}
	s.mu.Lock()
	again := s.seen.add(req.OrderID)
	s.mu.Unlock()
	status := http.StatusCreated
	if again {
		status = http.StatusOK
	}
	writeJSON(w, status, OrderResponse{OrderID: req.OrderID, Product: product, Keys: display(keys)})
}

// getOrder answers an order the gateway holds, with its keys.
func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("order_id")
	if id == "" || len(id) > wire.MaxOrderIDLen {
		writeProblem(w, badRequest(fmt.Sprintf("An order id is 1 to %d printable ASCII characters.", wire.MaxOrderIDLen)))
		return
	}
	o, err := s.shop.Order(r.Context(), id)
	s.health.saw(err)
	if err != nil {
		writeProblem(w, problemOf(err, "order", time.Now()))
		return
	}
	writeJSON(w, http.StatusOK, OrderResponse{OrderID: o.ID, Product: o.Product, Keys: display(o.Keys), Created: o.Created.UTC()})
}

func display(keys []keygen.Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Display()
	}
	return out
}

func capital(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
