package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// Admin carries out operator commands on a store: in the running gateway
// (behind the admin socket) or on a stopped gateway's data directory. It
// is an adminapi.Caller: Client returns the typed client of it.
type Admin struct {
	St     *store.Store
	Hasher *keygen.Hasher
	Now    func() time.Time
	// Reload, if set, is called after the shops change (the running
	// gateway's ReloadShops).
	Reload func() error
	// FlagWindowDays is the window license.show counts machines and
	// networks in. Zero or less means 30.
	FlagWindowDays int
	// Stats, if set, answers the stats command (the running gateway's
	// Server.Stats); a stopped gateway has none.
	Stats func() map[string]int64
	// Svc, if set, answers air-gapped machines' requests and release
	// proofs (admin_offline.go): the running gateway's service, or one
	// over the stopped gateway's store.
	Svc *service.Service
	// Dir is the data directory whose lease keys the keys operations
	// change; Signer, if set, is the running gateway's lease signer, which
	// a rotation switches (admin_keys.go).
	Dir    string
	Signer *service.LeaseSigner
	// Transport, if set, is the running gateway's transport state, which
	// the transport key operations replace (admin_keys.go).
	Transport *transportHolder
}

// adminHandler is one operation of the admin API, typed by handle.
type adminHandler struct {
	// serve decodes a request body off the socket and carries it out.
	serve func(a *Admin, body json.RawMessage) (any, error)
	// call carries out a typed request in process.
	call func(a *Admin, req, resp any) error
}

// adminOps is the table of operations: each operation's name, its types
// (adminapi.Op) and the method of Admin that carries it out.
var adminOps = adminTable(
	handle(adminapi.OpProductAdd, (*Admin).addProduct),
	handle(adminapi.OpProductUpdate, (*Admin).updateProduct),
	handle(adminapi.OpProductList, (*Admin).products),
	handle(adminapi.OpProductShow, (*Admin).product),
	handle(adminapi.OpShopAdd, (*Admin).addShop),
	handle(adminapi.OpShopUpdate, (*Admin).updateShop),
	handle(adminapi.OpShopList, (*Admin).shops),
	handle(adminapi.OpShopRemove, (*Admin).removeShop),
	handle(adminapi.OpLicenseShow, licenseOp(service.OpStatus)),
	handle(adminapi.OpLicenseSuspend, licenseOp(service.OpSuspend)),
	handle(adminapi.OpLicenseResume, licenseOp(service.OpResume)),
	handle(adminapi.OpLicenseRevoke, licenseOp(service.OpRevoke)),
	handle(adminapi.OpLicenseRenew, (*Admin).renew),
	handle(adminapi.OpLicenseReset, licenseOp(service.OpReset)),
	handle(adminapi.OpLicenseUnflag, licenseOp(service.OpUnflag)),
	handle(adminapi.OpLicenseFlagged, (*Admin).flagged),
	handle(adminapi.OpLicenseList, (*Admin).licenses),
	handle(adminapi.OpLicenseDeactivateMachine, (*Admin).deactivateMachine),
	handle(adminapi.OpStoreSnapshot, (*Admin).snapshot),
	handle(adminapi.OpAudit, (*Admin).audit),
	handle(adminapi.OpAuditVerify, (*Admin).verifyAudit),
	handle(adminapi.OpStats, (*Admin).stats),
	handle(adminapi.OpLicenseAnswerOffline, (*Admin).answerOffline),
	handle(adminapi.OpLicenseReleaseOffline, (*Admin).releaseOffline),
	handle(adminapi.OpKeysList, (*Admin).leaseKeys),
	handle(adminapi.OpKeysRotate, (*Admin).rotateLeaseKey),
	handle(adminapi.OpKeysRetire, (*Admin).retireLeaseKey),
	handle(adminapi.OpKeysTransport, (*Admin).transportKeys),
	handle(adminapi.OpKeysAnnounceTransport, (*Admin).announceTransport),
	handle(adminapi.OpKeysSwitchTransport, (*Admin).switchTransport),
	handle(adminapi.OpKeysRetireTransport, (*Admin).retireTransport),
	handle(adminapi.OpTrialList, (*Admin).trials),
)

// namedHandler is a handler and the name of its operation.
type namedHandler struct {
	name string
	h    adminHandler
}

// adminTable indexes handlers by name.
func adminTable(hs ...namedHandler) map[string]adminHandler {
	m := make(map[string]adminHandler, len(hs))
	for _, h := range hs {
		m[h.name] = h.h
	}
	return m
}

// handle types the operation op, carried out by f.
func handle[Req, Resp any](op adminapi.Op[Req, Resp], f func(*Admin, Req) (Resp, error)) namedHandler {
	return namedHandler{name: op.Name, h: adminHandler{
		serve: func(a *Admin, body json.RawMessage) (any, error) {
			var req Req
			if len(body) == 0 {
				if _, none := any(req).(adminapi.None); !none {
					return nil, fmt.Errorf("%w: %s has no body", adminapi.ErrMalformed, op.Name)
				}
				return f(a, req)
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				return nil, fmt.Errorf("%w: the body of %s: %v", adminapi.ErrMalformed, op.Name, err)
			}
			return f(a, req)
		},
		call: func(a *Admin, req, resp any) error {
			r, ok := req.(Req)
			out, ok2 := resp.(*Resp)
			if !ok || !ok2 {
				return fmt.Errorf("%w: %s takes a %T and answers a %T, not %T and %T", adminapi.ErrMalformed, op.Name, r, out, req, resp)
			}
			v, err := f(a, r)
			if err == nil {
				*out = v
			}
			return err
		},
	}}
}

// Call carries out the operation op in process (adminapi.Caller): req is
// a value of its request type, resp a pointer to its response type. Its
// errors match what the socket client's errors match (admin_codes.go),
// and the error met itself.
func (a *Admin) Call(op string, req, resp any) error {
	h, ok := adminOps[op]
	if !ok {
		return adminErrorIn(fmt.Errorf("%w %q", adminapi.ErrUnknownOp, op))
	}
	if err := h.call(a, req, resp); err != nil {
		return adminErrorIn(err)
	}
	return nil
}

// Client returns the typed client of a.
func (a *Admin) Client() *adminapi.Client { return adminapi.NewClient(a, nil) }

// answer answers one request line of the admin socket.
func (a *Admin) answer(line []byte) adminapi.Answer {
	var req adminapi.Request
	if err := json.Unmarshal(line, &req); err != nil {
		return adminAnswerError(fmt.Errorf("%w: not a JSON request line: %v", adminapi.ErrMalformed, err))
	}
	h, ok := adminOps[req.Op]
	if !ok {
		return adminAnswerError(fmt.Errorf("%w %q", adminapi.ErrUnknownOp, req.Op))
	}
	resp, err := h.serve(a, req.Body)
	if err != nil {
		return adminAnswerError(err)
	}
	body, err := json.Marshal(resp)
	if err != nil {
		return adminAnswerError(fmt.Errorf("gateway: admin socket: encoding the answer: %w", err))
	}
	return adminapi.Answer{Body: body}
}

func (a *Admin) addProduct(p store.Product) (adminapi.None, error) {
	if err := service.CheckCatalogueProduct(a.St, &p); err != nil {
		return adminapi.None{}, err
	}
	return adminapi.None{}, a.St.AddProduct(p)
}

func (a *Admin) updateProduct(p store.Product) (adminapi.None, error) {
	if err := service.CheckCatalogueProduct(a.St, &p); err != nil {
		return adminapi.None{}, err
	}
	return adminapi.None{}, a.St.UpdateProduct(p)
}

func (a *Admin) products(adminapi.None) (adminapi.Products, error) {
	ps, err := a.St.Products()
	return adminapi.Products{Products: ps}, err
}

func (a *Admin) product(req adminapi.ProductCode) (store.Product, error) {
	return a.St.ProductByCode(req.Code)
}

func (a *Admin) addShop(s adminapi.Shop) (adminapi.None, error) {
	return a.putShop(s, a.St.AddShop)
}

func (a *Admin) updateShop(s adminapi.Shop) (adminapi.None, error) {
	return a.putShop(s, a.St.UpdateShop)
}

// putShop checks the shop s (its products must be in the catalogue),
// writes it with put and has the running gateway reload its shops.
func (a *Admin) putShop(s adminapi.Shop, put func(store.Shop) error) (adminapi.None, error) {
	sh, err := parseShop(s, a.now())
	if err != nil {
		return adminapi.None{}, err
	}
	for _, p := range sh.Products {
		if _, err := a.St.ProductByCode(p); errors.Is(err, store.ErrNotFound) {
			return adminapi.None{}, fmt.Errorf("%w: product %s is not in the catalogue; add it first with 'tollgate product add'", ErrUsage, p)
		} else if err != nil {
			return adminapi.None{}, err
		}
	}
	if err := put(sh); err != nil {
		return adminapi.None{}, err
	}
	return adminapi.None{}, a.reload()
}

func (a *Admin) shops(adminapi.None) (adminapi.Shops, error) {
	list, err := a.St.Shops()
	out := make([]adminapi.Shop, len(list))
	for i, sh := range list {
		out[i] = adminShop(sh)
	}
	return adminapi.Shops{Shops: out}, err
}

func (a *Admin) removeShop(req adminapi.ShopName) (adminapi.None, error) {
	if err := a.St.DeleteShop(req.Name); err != nil {
		return adminapi.None{}, err
	}
	return adminapi.None{}, a.reload()
}

func (a *Admin) stats(adminapi.None) (adminapi.Stats, error) {
	if a.Stats == nil {
		return adminapi.Stats{}, fmt.Errorf("%w: statistics come from a running gateway, and this one is stopped", ErrUsage)
	}
	return adminapi.Stats{Counters: a.Stats()}, nil
}

func (a *Admin) flagged(adminapi.None) (adminapi.Flagged, error) {
	fl, err := a.St.FlaggedLicenses(0)
	if err != nil {
		return adminapi.Flagged{}, err
	}
	out := adminapi.Flagged{Licenses: make([]adminapi.License, 0, len(fl))}
	for _, f := range fl {
		out.Licenses = append(out.Licenses, a.adminLicense(f.License, nil, f.Sightings))
	}
	return out, nil
}

// licenseOp returns the handler of the license operation op.
func licenseOp(op service.LicenseOp) func(*Admin, adminapi.LicenseKey) (adminapi.License, error) {
	return func(a *Admin, req adminapi.LicenseKey) (adminapi.License, error) {
		return a.applyLicenseOp(req.Key, op, store.Term{})
	}
}

func (a *Admin) renew(req adminapi.Renewal) (adminapi.License, error) {
	return a.applyLicenseOp(req.Key, service.OpRenew, req.Term)
}

// applyLicenseOp performs op on the license of ref, its key or its id
// (service.FindLicense) (term: renewals) and returns the license
// afterwards.
func (a *Admin) applyLicenseOp(ref string, op service.LicenseOp, term store.Term) (adminapi.License, error) {
	lic, err := a.findLicense(ref)
	if err != nil {
		return adminapi.License{}, err
	}
	res, err := service.ApplyLicenseOpTo(a.St, lic, op, term, "", a.now())
	if err != nil {
		return adminapi.License{}, err
	}
	return a.licenseState(res)
}

func (a *Admin) audit(req adminapi.AuditQuery) (adminapi.AuditLog, error) {
	log, err := a.St.AuditLog(req.Since)
	return adminapi.AuditLog{Entries: log}, err
}

func (a *Admin) verifyAudit(adminapi.None) (adminapi.AuditVerified, error) {
	n, err := a.St.VerifyAudit()
	return adminapi.AuditVerified{Entries: n}, err
}

// adminLicense is what license.show and license.flagged answer of lic.
func (a *Admin) adminLicense(lic store.License, acts []store.Activation, sg store.Sightings) adminapi.License {
	now := a.now().Unix()
	window := a.FlagWindowDays
	if window <= 0 {
		window = 30
	}
	since := now - int64(window)*86400
	l := adminapi.License{License: lic, Expiry: lic.Expiry(), Activations: acts,
		FlaggedAt: sg.FlaggedAt, FlagReason: sg.Reason, WindowDays: window,
		Machines: sg.Count(store.SightMachine, since), Networks: sg.Count(store.SightNetwork, since)}
	l.Status = service.LicenseStatus(&lic, now).String()
	l.Term = service.TermText(&lic)
	return l
}

func (a *Admin) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

func (a *Admin) reload() error {
	if a.Reload == nil {
		return nil
	}
	return a.Reload()
}

// parseShop checks the shop an operator registers.
func parseShop(s adminapi.Shop, now time.Time) (store.Shop, error) {
	k, err := channel.ParsePublicKey(s.PublicKey)
	if err != nil {
		return store.Shop{}, fmt.Errorf("%w: shop key: %w", ErrUsage, err)
	}
	sh := store.Shop{Name: s.Name, PublicKey: k, Products: s.Products, DailyQuota: s.DailyQuota, Created: now.Unix()}
	for _, n := range s.Networks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			a, aerr := netip.ParseAddr(n)
			if aerr != nil {
				return store.Shop{}, fmt.Errorf("%w: network %q is not a CIDR prefix or address", ErrUsage, n)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		sh.Networks = append(sh.Networks, p)
	}
	for _, p := range sh.Products {
		if !store.ValidProductCode(p) {
			return store.Shop{}, fmt.Errorf("%w: %q is not a valid product code: 5 characters of 0-9A-Z", ErrUsage, p)
		}
	}
	return sh, nil
}

func adminShop(sh store.Shop) adminapi.Shop {
	out := adminapi.Shop{Name: sh.Name, PublicKey: channel.PublicKey(sh.PublicKey).String(), Products: sh.Products, DailyQuota: sh.DailyQuota}
	for _, n := range sh.Networks {
		out.Networks = append(out.Networks, n.String())
	}
	return out
}
