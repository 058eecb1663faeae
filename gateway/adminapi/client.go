package adminapi

import "github.com/tollgate/tollgate/store"

// Caller carries out one operation: req is a value of the operation's
// request type, resp a pointer to a value of its response type. The
// gateway's socket client and its in-process Admin are Callers.
type Caller interface {
	Call(op string, req, resp any) error
}

// Call carries out op with c: the compiler checks req and the response
// against op's types.
func Call[Req, Resp any](c Caller, op Op[Req, Resp], req Req) (Resp, error) {
	var resp Resp
	err := c.Call(op.Name, req, &resp)
	return resp, err
}

// Client runs operations on one gateway, one method an operation. The
// gateway package opens it (gateway.OpenAdmin, gateway.DialAdmin).
// Its errors keep their identity: errors.Is(err, store.ErrNotFound),
// errors.Is(err, service.ErrRevoked), errors.Is(err, gateway.ErrUsage)
// hold through the socket as in process.
type Client struct {
	c     Caller
	close func() error
}

// NewClient returns a Client that calls c and runs close (if not nil) when
// closed.
func NewClient(c Caller, close func() error) *Client { return &Client{c: c, close: close} }

// Call carries out one operation by name; Client is a Caller too.
func (c *Client) Call(op string, req, resp any) error { return c.c.Call(op, req, resp) }

// Close ends the connection to the running gateway, or closes the stopped
// gateway's store.
func (c *Client) Close() error {
	if c.close == nil {
		return nil
	}
	return c.close()
}

// AddProduct adds a catalogue product; a product of the same code is
// store.ErrExists (change it with UpdateProduct).
func (c *Client) AddProduct(p store.Product) error {
	_, err := Call(c, OpProductAdd, p)
	return err
}

// UpdateProduct replaces the catalogue product of p.Code; an unknown code
// is store.ErrNotFound.
func (c *Client) UpdateProduct(p store.Product) error {
	_, err := Call(c, OpProductUpdate, p)
	return err
}

// Products returns the catalogue.
func (c *Client) Products() ([]store.Product, error) {
	r, err := Call(c, OpProductList, None{})
	return r.Products, err
}

// Product returns the catalogue product of code.
func (c *Client) Product(code string) (store.Product, error) {
	return Call(c, OpProductShow, ProductCode{Code: code})
}

// AddShop registers a shop; a shop of the same name or public key is
// store.ErrExists (change it with UpdateShop), a product not in the
// catalogue gateway.ErrUsage.
func (c *Client) AddShop(s Shop) error {
	_, err := Call(c, OpShopAdd, s)
	return err
}

// UpdateShop replaces the shop of s.Name; an unknown name is
// store.ErrNotFound.
func (c *Client) UpdateShop(s Shop) error {
	_, err := Call(c, OpShopUpdate, s)
	return err
}

// Shops returns the registered shops.
func (c *Client) Shops() ([]Shop, error) {
	r, err := Call(c, OpShopList, None{})
	return r.Shops, err
}

// RemoveShop removes the shop called name.
func (c *Client) RemoveShop(name string) error {
	_, err := Call(c, OpShopRemove, ShopName{Name: name})
	return err
}

// ShowLicense returns the license of key.
func (c *Client) ShowLicense(key string) (License, error) {
	return Call(c, OpLicenseShow, LicenseKey{Key: key})
}

// SuspendLicense suspends the license of key.
func (c *Client) SuspendLicense(key string) (License, error) {
	return Call(c, OpLicenseSuspend, LicenseKey{Key: key})
}

// ResumeLicense lifts a suspension of the license of key.
func (c *Client) ResumeLicense(key string) (License, error) {
	return Call(c, OpLicenseResume, LicenseKey{Key: key})
}

// RevokeLicense revokes the license of key, for good.
func (c *Client) RevokeLicense(key string) (License, error) {
	return Call(c, OpLicenseRevoke, LicenseKey{Key: key})
}

// RenewLicense extends the license of key by term (zero: the product's
// default).
func (c *Client) RenewLicense(key string, term store.Term) (License, error) {
	return Call(c, OpLicenseRenew, Renewal{Key: key, Term: term})
}

// ResetLicense frees every seat of the license of key.
func (c *Client) ResetLicense(key string) (License, error) {
	return Call(c, OpLicenseReset, LicenseKey{Key: key})
}

// UnflagLicense clears the flag of the license of key, and the machines
// and networks seen so far.
func (c *Client) UnflagLicense(key string) (License, error) {
	return Call(c, OpLicenseUnflag, LicenseKey{Key: key})
}

// FlaggedLicenses returns the licenses flagged as shared, oldest flag
// first.
func (c *Client) FlaggedLicenses() ([]License, error) {
	r, err := Call(c, OpLicenseFlagged, None{})
	return r.Licenses, err
}

// Audit returns the audit entries from since (Unix seconds) on.
func (c *Client) Audit(since int64) ([]store.AuditEntry, error) {
	r, err := Call(c, OpAudit, AuditQuery{Since: since})
	return r.Entries, err
}

// VerifyAudit checks the audit log's hash chain and returns how many
// entries it checked.
func (c *Client) VerifyAudit() (int, error) {
	r, err := Call(c, OpAuditVerify, None{})
	return r.Entries, err
}

// Stats returns the running gateway's counters since it started.
func (c *Client) Stats() (map[string]int64, error) {
	r, err := Call(c, OpStats, None{})
	return r.Counters, err
}
