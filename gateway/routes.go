package gateway

import (
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
)

// A route answers one type of request: answer parses the body once into
// the request the route owns, asks the service (at now, Unix seconds, read
// once per request by the session loop), and appends the answer frame to
// out (inline). A request that waits on an fsync or a signature
// is started off the read loop instead (Server.goSlow) and inline is
// false: its answer goes out when it is done.
type route struct {
	kind   reqKind
	answer func(s *Server, c *caller, out []byte, reqID uint32, body []byte, now int64) (_ []byte, inline bool)
}

// channelRoutes is what one channel serves: its routes by request type,
// and admit, asked before each request (nil: every request is admitted).
// A request admit refuses is answered with its refusal and ends the
// session.
type channelRoutes struct {
	name   string // "app" or "shop", as refusals name it
	routes [256]route
	admit  func(s *Server, c *caller) error
}

// appChannel serves installed programs (Noise IK): activate, validate,
// deactivate, and the server's time.
var appChannel = channelRoutes{name: "app", routes: [256]route{
	wire.TypeValidateRequest:   {kind: kindValidate, answer: validateRoute},
	wire.TypeTimeRequest:       inline(kindTime, wire.ParseTimeRequest, answerTime),
	wire.TypeActivateRequest:   slow(kindActivate, wire.ParseActivateRequest, answerActivate),
	wire.TypeDeactivateRequest: slow(kindDeactivate, wire.ParseDeactivateRequest, answerDeactivate),
	wire.TypeTrialRequest:      slow(kindTrial, wire.ParseTrialRequest, answerTrial),
}}

// shopChannel serves shops (Noise KK, IP-locked): mint, key operations,
// the shop's event stream and its orders. The shop is looked up again for each request, so a shop
// removed meanwhile is refused.
var shopChannel = channelRoutes{name: "shop", admit: admitShop, routes: [256]route{
	wire.TypeMintRequest:   slow(kindMint, wire.ParseMintRequest, answerMint),
	wire.TypeKeyOpRequest:  slow(kindKeyOp, wire.ParseKeyOpRequest, answerKeyOp),
	wire.TypeEventsRequest: slow(kindEvents, wire.ParseEventsRequest, answerEvents),
	wire.TypeOrderRequest:  slow(kindOrder, wire.ParseOrderRequest, answerOrder),

	// Air-gapped machines' files, carried by the shop's portal
	// (offline_routes.go); counted as the activations and deactivations
	// they are.
	wire.TypeOfflineAnswerRequest:  slow(kindActivate, wire.ParseOfflineAnswerRequest, answerOfflineAnswer),
	wire.TypeOfflineReleaseRequest: slow(kindDeactivate, wire.ParseOfflineReleaseRequest, answerOfflineRelease),
	// A customer's seat reset is a key operation (counted as one).
	wire.TypeSeatResetRequest: slow(kindKeyOp, wire.ParseSeatResetRequest, answerSeatReset),
}}

// inline is the route of a request answered on the read loop.
func inline[R any](k reqKind, parse func([]byte) (R, int, error), answer func(s *Server, f *from, out []byte, reqID uint32, req *R) []byte) route {
	return route{kind: k, answer: func(s *Server, c *caller, out []byte, reqID uint32, body []byte, _ int64) ([]byte, bool) {
		req, _, err := parse(body)
		if err != nil {
			return s.badRequest(out, reqID, body, err), true
		}
		return answer(s, &c.from, out, reqID, &req), true
	}}
}

// slow is the route of a request answered off the read loop. Its body is
// copied first and parsed from the copy, so that the request's slices
// (a hostname, an order id) outlive the session's read buffer, and it
// keeps its own copy of who sent it (the read loop looks the shop up
// again for the next request).
func slow[R any](k reqKind, parse func([]byte) (R, int, error), answer func(s *Server, f *from, out []byte, reqID uint32, req *R) []byte) route {
	return route{kind: k, answer: func(s *Server, c *caller, out []byte, reqID uint32, body []byte, _ int64) ([]byte, bool) {
		body = append([]byte(nil), body...)
		req, _, err := parse(body)
		if err != nil {
			return s.badRequest(out, reqID, body, err), true
		}
		f := c.from
		s.goSlow(c, k, func(out []byte) []byte { return answer(s, &f, out, reqID, &req) })
		return out, false
	}}
}

// validateRoute answers on the read loop when it can (the hot path), and
// off it when the answer needs a new lease. A ValidateRequest holds no
// slices: the slow path takes a copy of it, made only there, so that the
// hot path's request stays on the stack (a closure capturing req itself
// would move it to the heap on every validation).
func validateRoute(s *Server, c *caller, out []byte, reqID uint32, body []byte, now int64) ([]byte, bool) {
	req, _, err := wire.ParseValidateRequest(body)
	if err != nil {
		return s.badRequest(out, reqID, body, err), true
	}
	out, needSlow := answerValidate(s.svc, out, reqID, &req, &c.from.peer, now)
	if !needSlow {
		return out, true
	}
	slow := req
	s.goSlow(c, kindValidate, func(out []byte) []byte {
		v, err := s.svc.ValidateSlow(&slow, &c.from.peer)
		return appendValidation(out, reqID, &slow, v, err)
	})
	return out, false
}

// answerValidate appends the answer to a validation that needs no new
// lease and returns slow=false, or appends nothing and returns slow=true.
func answerValidate(svc *service.Service, out []byte, reqID uint32, req *wire.ValidateRequest, p *service.Peer, now int64) (_ []byte, slow bool) {
	v, slow, err := svc.Validate(req, p, now)
	switch {
	case slow:
		return out, true
	case err != nil:
		return refusal(out, reqID, req.Nonce, err), false
	}
	return wire.AppendFrame(out, reqID, wire.ValidateResponse{
		Nonce: req.Nonce, Status: wire.StatusOK, Counter: req.Counter, ServerTime: v.ServerTime, Changed: v.Changed, Lease: v.Lease,
	}), false
}

func appendValidation(out []byte, reqID uint32, req *wire.ValidateRequest, v service.Validation, err error) []byte {
	if err != nil {
		return refusal(out, reqID, req.Nonce, err)
	}
	return wire.AppendFrame(out, reqID, wire.ValidateResponse{
		Nonce: req.Nonce, Status: wire.StatusOK, Counter: req.Counter, ServerTime: v.ServerTime, Changed: v.Changed, Lease: v.Lease,
	})
}

func answerTime(s *Server, _ *from, out []byte, reqID uint32, req *wire.TimeRequest) []byte {
	return wire.AppendFrame(out, reqID, wire.TimeResponse{Nonce: req.Nonce, ServerTime: s.cfg.Now().UnixNano()})
}

func answerActivate(s *Server, f *from, out []byte, reqID uint32, req *wire.ActivateRequest) []byte {
	a, err := s.svc.Activate(req, &f.peer)
	if err != nil {
		return refusal(out, reqID, req.Nonce, err)
	}
	return wire.AppendFrame(out, reqID, wire.ActivateResponse{Nonce: req.Nonce, LicenseID: a.LicenseID, Changed: a.Changed, Lease: a.Lease})
}

func answerDeactivate(s *Server, f *from, out []byte, reqID uint32, req *wire.DeactivateRequest) []byte {
	do := s.svc.Deactivate
	if req.CheckIn() {
		do = s.svc.CheckIn // a floating seat's check-in keeps the binding
	}
	if err := do(req.LicenseID, &f.peer); err != nil {
		return refusal(out, reqID, req.Nonce, err)
	}
	return wire.AppendFrame(out, reqID, wire.DeactivateResponse{Nonce: req.Nonce})
}

// admitShop admits a shop's request while the shop is registered with
// this key and allowed the session's address: an operator's shop update
// or delete ends the shop's open sessions at their next request.
func admitShop(s *Server, c *caller) error {
	if c.from.shop = s.shops.byKeyID(c.keyID); c.from.shop == nil {
		return errShopGone
	}
	if !c.from.shop.Allows(c.addr) {
		return errShopMoved
	}
	return nil
}

var (
	errShopGone  = &service.Error{Kind: service.KindShopNotAllowed, Msg: "this shop is no longer registered with this key"}
	errShopMoved = &service.Error{Kind: service.KindShopNotAllowed, Msg: "this shop is no longer allowed to connect from this address"}
)

func answerMint(s *Server, f *from, out []byte, reqID uint32, req *wire.MintRequest) []byte {
	m, err := s.svc.Mint(req, f.shop)
	if err != nil {
		return refusal(out, reqID, req.Nonce, err)
	}
	return wire.AppendFrame(out, reqID, wire.MintResponse{Nonce: req.Nonce, OrderID: req.OrderID, Count: uint16(m.Count), Sealed: m.Sealed})
}

func answerKeyOp(s *Server, f *from, out []byte, reqID uint32, req *wire.KeyOpRequest) []byte {
	res, err := s.svc.KeyOp(req, f.shop)
	if err != nil {
		return refusal(out, reqID, req.Nonce, err)
	}
	return wire.AppendFrame(out, reqID, keyStatus(req.Nonce, &res, s.cfg.Now().Unix()))
}

// keyStatus is a license's state as a shop's key status answer shows it.
func keyStatus(nonce [wire.NonceSize]byte, res *service.LicenseState, now int64) wire.KeyStatusResponse {
	l := &res.License
	resp := wire.KeyStatusResponse{Nonce: nonce, Seats: l.Seats, SeatsUsed: service.SeatsInUse(l, res.Activations, now),
		Activated: l.Activated, Expiry: l.Expiry(), Status: service.LicenseStatus(l, now)}
	copy(resp.Product[:], l.Product)
	for _, a := range res.Activations {
		host := []byte(a.Hostname)
		if len(host) > wire.MaxHostnameLen {
			host = host[:wire.MaxHostnameLen]
		}
		if resp.Activations.Add(wire.Activation{Hostname: host, LastSeen: a.LastSeen}) != nil {
			break
		}
	}
	return resp
}

// answerEvents answers with the shop's own events after req.After: a read
// of the store, off the read loop like the other shop requests.
func answerEvents(s *Server, f *from, out []byte, reqID uint32, req *wire.EventsRequest) []byte {
	evs, err := s.svc.Events(f.shop, req.After, int(req.Max))
	if err != nil {
		return refusal(out, reqID, req.Nonce, err)
	}
	return wire.AppendFrame(out, reqID, wire.EventsResponse{Nonce: req.Nonce, Events: evs})
}

// answerOrder answers with the shop's own order of req.OrderID, its keys
// sealed as its mint answered them.
func answerOrder(s *Server, f *from, out []byte, reqID uint32, req *wire.OrderRequest) []byte {
	o, err := s.svc.Order(f.shop, string(req.OrderID))
	if err != nil {
		return refusal(out, reqID, req.Nonce, err)
	}
	return wire.AppendFrame(out, reqID, wire.OrderResponse{Nonce: req.Nonce, Created: o.Created, Order: o.Request, Sealed: o.Sealed})
}
