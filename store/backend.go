package store

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// Backend is what a storage backend provides to the Store in front of it:
// the durable state of licenses, activations, orders, shops, products,
// sightings and the audit log, in the store's terms. The embedded backend
// is Pebble (store/pebblestore); a backend shared by several gateways (a
// SQL database) implements the same contract, which is why it asks
// nothing a SQL backend cannot do: keyed reads, ordered lists, and
// transactions of one license or one shop.
//
// Contracts, for every method:
//   - Durability: a method that writes returns only once what it wrote is
//     on disk (committed, fsynced); when it returns an error, nothing of
//     its change is written.
//   - Secrets: a license is found by the keyed hash of its key or by its
//     license id; a license key is never given to a backend, and no error
//     carries one.
//   - After Close, every method returns ErrClosed (or, for a method that
//     cannot fail, a zero value).
//
// All methods are safe for concurrent use.
type Backend interface {
	// LicenseByKeyHash returns the license whose key has hash h, or
	// ErrNotFound.
	LicenseByKeyHash(h keygen.KeyHash) (License, error)
	// LicenseByID returns the license with this id, or ErrNotFound.
	LicenseByID(id LicenseID) (License, error)
	// Activation returns the activation of install on the license id, with
	// the newest last-seen time and counter written by WriteSeen merged in
	// (each the higher of the activation's own and the written one), or
	// ErrNotActivated when there is none. It does not look for the license
	// itself.
	Activation(id LicenseID, install InstallID) (Activation, error)
	// Activations returns the license's activations, ordered by install id,
	// merged with WriteSeen's values as Activation is.
	Activations(id LicenseID) ([]Activation, error)
	// CreateLicenses writes new licenses, and audit (when not nil) with
	// them in the same commit. A key hash or license id that already
	// exists is refused with ErrExists and nothing is written.
	CreateLicenses(ls []License, audit *AuditEntry) error
	// Update runs fn on the license with this id and commits what it
	// changed (Tx.Changes, with Tx.Audit in the same commit) durably
	// before returning, with Tx's events (Tx.Record) appended to the
	// license's shop's stream in the same commit, numbered after the
	// shop's last event. Updates of one license are serialised (a lock, a
	// row lock, a serialisable transaction), so that seat accounting is
	// exact: fn sees the activations as the previous Update left them.
	// hash, when not nil, is the key hash of the license as read before
	// (LicenseByKeyHash), which a backend may use to find it faster; a
	// license found through hash whose id is not id is ErrNotFound. Update
	// returns ErrNotFound when there is no such license, fn's error
	// unchanged (writing nothing) when fn fails, and an error wrapping
	// ErrConfig (writing nothing) when fn changed the license's identity
	// (its id or key hash). The Tx's Activations are read with WriteSeen's
	// values merged (Activations).
	Update(id LicenseID, hash *keygen.KeyHash, fn func(tx *Tx) error) error
	// WriteSeen writes the last-seen times and counters of activations,
	// all durably in one commit: what the Store's write-behind flusher
	// writes. A value of an activation that no longer exists may be
	// written or dropped; reads never bring back a deleted activation.
	WriteSeen(seen []Seen) error

	// Licenses returns one page of the licenses q selects (every filter of
	// q set must hold: LicenseQuery.Match), in an order of the backend's
	// that stays the same between calls, at most q.Limit of them (0 or
	// less: all), starting after the cursor q.After; next is the cursor
	// of the following page, "" when this page is the last. Paging through
	// with next returns each selected license once (licenses created or
	// changed meanwhile may or may not be seen). A cursor the backend did
	// not make is ErrInvalid. It is an operator's query, not the hot path:
	// a backend may scan (say its cost).
	Licenses(q LicenseQuery) (_ []License, next string, _ error)

	// MintOrder places order o (Shop, ID, Request, Count, Product set) under
	// the shop's lock, so that two concurrent attempts of one order cannot
	// both mint (and, with several gateways on one database, two gateways
	// cannot either):
	//
	//   - an order with this id and the same request bytes exists: it is
	//     returned with existed true, and mint is not called;
	//   - it exists with other request bytes: ErrOrderConflict;
	//   - the shop's quota (keys per UTC day, 0 for none) would be
	//     exceeded: ErrQuotaExceeded;
	//   - otherwise mint makes the licenses and the sealed keys, and the
	//     licenses, the order, the quota count and an audit entry are
	//     written in one durable commit before MintOrder returns.
	//
	// An order of no keys or of more than MaxMintKeys, or without a shop
	// or an id, is ErrInvalid. New licenses are not checked for collisions
	// with existing ones: their ids and key hashes come from 128 and 124
	// random bits.
	MintOrder(o Order, quota uint32, mint func() ([]License, []byte, error)) (_ Order, existed bool, _ error)
	// OrderByID returns a shop's order, or ErrNotFound.
	OrderByID(shop, id string) (Order, error)
	// MintedToday returns how many keys the shop minted on the current UTC
	// day.
	MintedToday(shop string) (uint32, error)

	// AddShop registers a new shop (refused with ErrInvalid unless
	// Shop.Check passes; networks are stored masked) and audits it
	// ("shop.add"). A shop of the same name, or another shop with the same
	// public key, is refused with ErrExists and nothing is written: adding
	// never replaces a shop.
	AddShop(sh Shop) error
	// UpdateShop replaces the shop of sh.Name on purpose and audits it
	// ("shop.update"); Created keeps the registered shop's. It is refused
	// with ErrInvalid unless Shop.Check passes, ErrNotFound when no shop has
	// this name, and ErrExists when another shop has the same public key.
	UpdateShop(sh Shop) error
	// DeleteShop removes a shop, and audits it; its licenses and orders
	// stay. An unknown shop is ErrNotFound.
	DeleteShop(name string) error
	// ShopByName returns the shop called name, or ErrNotFound.
	ShopByName(name string) (Shop, error)
	// Shops returns every shop, ordered by name.
	Shops() ([]Shop, error)

	// AddProduct adds a new catalogue entry (refused with ErrInvalid unless
	// Product.Check passes; a validation level of 0 is stored as 1) and
	// audits it ("product.add"). An entry of the same code is refused with
	// ErrExists and nothing is written: adding never replaces an entry.
	AddProduct(p Product) error
	// UpdateProduct replaces the catalogue entry of p.Code on purpose and
	// audits it ("product.update"); refused with ErrInvalid as AddProduct,
	// and with ErrNotFound when there is no entry of this code. Licenses
	// already minted keep what they were minted with.
	UpdateProduct(p Product) error
	// ProductByCode returns the catalogue entry of code, or ErrNotFound.
	ProductByCode(code string) (Product, error)
	// Products returns the catalogue, ordered by code.
	Products() ([]Product, error)

	// Sightings returns the sightings of the license with this id (none
	// yet: the zero value). They are written by Update (Tx.Sightings).
	Sightings(id LicenseID) (Sightings, error)
	// FlaggedLicenses returns the flagged licenses, oldest flag first, at
	// most limit of them (0: all). A license whose sightings record is
	// damaged is listed first, with FlaggedAt 0 and DamagedSightings as
	// its reason.
	FlaggedLicenses(limit int) ([]Flagged, error)

	// Audit appends e to the audit log, durably. Seq, Prev and (when zero)
	// Time are filled in: the log is one hash chain, with no gaps, in the
	// order of the commits.
	Audit(e AuditEntry) error
	// AuditLog returns the entries at or after since (Unix seconds), in
	// order.
	AuditLog(since int64) ([]AuditEntry, error)
	// VerifyAudit walks the whole audit log and checks its hash chain: the
	// sequence numbers run from 1 without gaps, each entry names the hash
	// of the one before, and the last matches the recorded head (so that
	// deleting entries at the end is caught too). It returns the number of
	// entries checked, and an error wrapping ErrAuditBroken naming the
	// first bad entry.
	VerifyAudit() (int, error)

	// ShopEvents returns the events of shop's stream with Seq above after,
	// in Seq order, at most limit of them (1 to MaxEventsPage, else
	// ErrInvalid: CheckEventsPage); none when there are none. A shop's
	// events are written by Update only (Tx.Record): in the commit of the
	// change they record, numbered 1, 2, ... without gaps in the order of
	// the commits, each shop's stream on its own (the numbering is
	// serialised per shop: a lock, a counter row). Events are kept for
	// good (no retention bound yet).
	ShopEvents(shop string, after uint64, limit int) ([]Event, error)
	// AppendExpiring appends e, an expiring event of license e.License
	// (CheckExpiring passes), to e.Shop's stream, durably and numbered
	// as Update numbers events, unless an expiring event of this license
	// for this end (Unix seconds) was appended before, by any gateway of
	// the database: then added is false and nothing is written.
	AppendExpiring(e Event, end int64) (added bool, _ error)

	// StartTrial starts a keyless trial of product for install on the
	// machine of fp (keyed under the gateway's secret, as Trial keeps it),
	// serialised with every other StartTrial of the product (a lock, a
	// locked row), so that two installs of one machine asking at once get
	// one trial. decide is called with the product's trials of this install
	// or that share at least one fingerprint component (kind and keyed hash)
	// with fp, ordered by install id; it returns the trial to write, or nil
	// to write nothing, or an error returned unchanged (nothing written).
	// The new trial's license (which must not exist: ErrExists), its one
	// activation, the mark and the audit entry are written in one durable
	// commit. A new trial whose parts do not belong together
	// (CheckNewTrial) is ErrInvalid. decide may run more than once (a SQL
	// backend runs a transaction again); only its last answer is written.
	StartTrial(product string, install InstallID, fp wire.Fingerprint, decide func(prior []Trial) (*NewTrial, error)) error
	// Trials returns the trial marks of product (every product when
	// empty), ordered by product code, then install id. It is an
	// operator's query: a backend may scan.
	Trials(product string) ([]Trial, error)

	// Stats returns the backend's figures now (PendingWrites is the
	// Store's, and left zero).
	Stats() Stats
	// Close closes the backend. It is safe to call more than once.
	Close() error
}

// Seen is the last-seen time and counter of one activation, as the
// write-behind flusher writes them (Backend.WriteSeen).
type Seen struct {
	License  LicenseID
	Install  InstallID
	LastSeen int64 // Unix seconds
	Counter  uint64
}

// MergeSeen returns the values of seen in the order of their activations
// (license id, then install: the order of their keys in either backend),
// one per activation, the highest time and counter of each: a flush may
// hold an activation twice (an entry the cache let go, still queued, and
// its reload), and whichever came first, what is written never goes back.
// seen is not modified.
func MergeSeen(seen []Seen) []Seen {
	out := slices.Clone(seen)
	slices.SortFunc(out, func(x, y Seen) int {
		return cmp.Or(bytes.Compare(x.License[:], y.License[:]), bytes.Compare(x.Install[:], y.Install[:]))
	})
	n := 0
	for _, s := range out {
		if n > 0 && out[n-1].License == s.License && out[n-1].Install == s.Install {
			out[n-1].LastSeen = max(out[n-1].LastSeen, s.LastSeen)
			out[n-1].Counter = max(out[n-1].Counter, s.Counter)
			continue
		}
		out[n] = s
		n++
	}
	return out[:n]
}

// Stats is what the store holds and owes, for the operator.
type Stats struct {
	Bytes         uint64 // bytes of the backend's data on disk
	PendingWrites int    // activations whose last-seen time is not yet written
	// Extra are the backend's own figures, such as Pebble's compaction
	// debt, each under its metric name.
	Extra []Stat
}

// Stat is one figure of a backend.
type Stat struct {
	Name  string // metric name, such as "store_l0_tables"
	Help  string // one sentence for the operator
	Value int64
}
