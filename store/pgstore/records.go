package pgstore

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// The records of the schema. A license's queried fields, an activation's
// keys and written-behind values, and a shop's name and key are columns;
// the rest of each record is JSON of version recordVersion in a bytea
// column, decoded strictly (an unknown field, a wrong version or trailing
// bytes is store.ErrCorrupt, never a panic). Part of the database format.
const recordVersion = 1

// licenseRest is the part of a license that is not in columns.
type licenseRest struct {
	V            int          `json:"v"`
	Bundle       []string     `json:"bundle,omitempty"`
	Entitlements []string     `json:"entitlements,omitempty"`
	Seats        uint32       `json:"seats"`
	Term         store.Term   `json:"term"`
	AbsExpiry    int64        `json:"abs_expiry,omitempty"`
	Activated    int64        `json:"activated,omitempty"`
	Policy       store.Policy `json:"policy"`
	Created      int64        `json:"created"`
	Base         string       `json:"base,omitempty"`
	Trial        bool         `json:"trial,omitempty"`
	Resets       []int64      `json:"resets,omitempty"`
}

// licenseRow is a license as its row holds it.
type licenseRow struct {
	ID, KeyHash          []byte
	Shop, Order, Product string
	State, Expiry        int64
	Rest                 []byte
}

// licenseCols are the columns of a licenseRow, in the order of scan.
const licenseCols = "id, key_hash, shop, order_id, product, state, expiry, record"

// licenseColsOf returns licenseCols of the table called t in a query.
func licenseColsOf(t string) string {
	return t + "." + strings.ReplaceAll(licenseCols, ", ", ", "+t+".")
}

// scan returns the destinations of a row of licenseCols.
func (r *licenseRow) scan() []any {
	return []any{&r.ID, &r.KeyHash, &r.Shop, &r.Order, &r.Product, &r.State, &r.Expiry, &r.Rest}
}

// args returns the values of licenseCols.
func (r *licenseRow) args() []any {
	return []any{r.ID, r.KeyHash, r.Shop, r.Order, r.Product, r.State, r.Expiry, r.Rest}
}

// encodeLicense returns the row of l.
func encodeLicense(l *store.License) (licenseRow, error) {
	if l.State > store.StateRevoked {
		return licenseRow{}, fmt.Errorf("%w: license state %d", store.ErrInvalid, l.State)
	}
	rest, err := json.Marshal(licenseRest{V: recordVersion, Bundle: l.Bundle, Entitlements: l.Entitlements, Seats: l.Seats,
		Term: l.Term, AbsExpiry: l.AbsExpiry, Activated: l.Activated, Policy: l.Policy, Created: l.Created,
		Base: l.Base, Trial: l.Trial, Resets: l.Resets})
	if err != nil {
		return licenseRow{}, fmt.Errorf("store: encode license: %w", err)
	}
	return licenseRow{ID: l.ID[:], KeyHash: l.KeyHash[:], Shop: l.Shop, Order: l.Order, Product: l.Product,
		State: int64(l.State), Expiry: l.Expiry(), Rest: rest}, nil
}

// decode returns the license of the row.
func (r *licenseRow) decode() (store.License, error) {
	var l store.License
	if len(r.ID) != len(l.ID) || len(r.KeyHash) != len(l.KeyHash) || r.State < 0 || r.State > int64(store.StateRevoked) {
		return store.License{}, fmt.Errorf("%w: license row", store.ErrCorrupt)
	}
	var rest licenseRest
	if err := decodeRecord(r.Rest, &rest, &rest.V, "license"); err != nil {
		return store.License{}, err
	}
	l.ID, l.KeyHash = store.LicenseID(r.ID), keygen.KeyHash(r.KeyHash)
	l.Shop, l.Order, l.Product, l.State = r.Shop, r.Order, r.Product, store.State(r.State)
	l.Bundle, l.Entitlements, l.Seats, l.Term = rest.Bundle, rest.Entitlements, rest.Seats, rest.Term
	l.AbsExpiry, l.Activated, l.Policy, l.Created = rest.AbsExpiry, rest.Activated, rest.Policy, rest.Created
	l.Base, l.Trial, l.Resets = rest.Base, rest.Trial, rest.Resets
	return l, nil
}

// decodeRecord decodes the JSON record b into v strictly, and checks that
// its version (*version, filled by the decoding) is recordVersion.
func decodeRecord(b []byte, v any, version *int, what string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s record: %w", store.ErrCorrupt, what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: %s record: bytes after the record", store.ErrCorrupt, what)
	}
	if *version != recordVersion {
		return fmt.Errorf("%w: %s record of version %d (this gateway reads %d)", store.ErrCorrupt, what, *version, recordVersion)
	}
	return nil
}

// activationRest is the part of an activation that is not in columns.
type activationRest struct {
	V           int    `json:"v"`
	Fingerprint []byte `json:"fingerprint"` // wire encoding
	Private     bool   `json:"private,omitempty"`
	Hostname    string `json:"hostname"`
	AppVersion  string `json:"app_version,omitempty"`
	Lease       []byte `json:"lease,omitempty"`
	LeaseIssued int64  `json:"lease_issued,omitempty"`
	LeaseExpiry int64  `json:"lease_expiry,omitempty"`
}

// activationCols are the columns of an activation, in the order of scan.
const activationCols = "license, install, created, last_seen, counter, record"

// counterColumn returns the bigint column of an activation's counter: the
// counter with its top bit flipped, so that the column's order is the
// counter's over all of uint64 (0 is the least bigint, and a client's
// counter above 2^63 is kept as it is). GREATEST of columns is the column
// of the greater counter.
func counterColumn(c uint64) int64 { return int64(c ^ 1<<63) }

// counterOf returns the counter of a counterColumn.
func counterOf(col int64) uint64 { return uint64(col) ^ 1<<63 }

// encodeActivation returns the record column of a.
func encodeActivation(a *store.Activation) ([]byte, error) {
	rest, err := json.Marshal(activationRest{V: recordVersion, Fingerprint: a.Fingerprint.Append(nil), Private: a.Private,
		Hostname: a.Hostname, AppVersion: a.AppVersion, Lease: a.Lease, LeaseIssued: a.LeaseIssued, LeaseExpiry: a.LeaseExpiry})
	if err != nil {
		return nil, fmt.Errorf("store: encode activation: %w", err)
	}
	return rest, nil
}

// decodeActivation returns the activation of a row of activationCols.
func decodeActivation(license, install []byte, created, lastSeen, counter int64, rec []byte) (store.Activation, error) {
	var a store.Activation
	if len(license) != len(a.License) || len(install) != len(a.Install) {
		return store.Activation{}, fmt.Errorf("%w: activation row", store.ErrCorrupt)
	}
	var rest activationRest
	if err := decodeRecord(rec, &rest, &rest.V, "activation"); err != nil {
		return store.Activation{}, err
	}
	fp, n, err := wire.ParseFingerprint(rest.Fingerprint)
	if err != nil || n != len(rest.Fingerprint) {
		return store.Activation{}, fmt.Errorf("%w: activation fingerprint", store.ErrCorrupt)
	}
	a.License, a.Install = store.LicenseID(license), store.InstallID(install)
	a.Created, a.LastSeen, a.Counter = created, lastSeen, counterOf(counter)
	a.Fingerprint, a.Private, a.Hostname, a.AppVersion = fp, rest.Private, rest.Hostname, rest.AppVersion
	a.Lease, a.LeaseIssued, a.LeaseExpiry = rest.Lease, rest.LeaseIssued, rest.LeaseExpiry
	return a, nil
}

// A sightings list column: the version byte 1, then each sighting as its
// kind (1 byte), its hash (8 bytes) and its last time (8 bytes), all
// big-endian, in the order of kind and hash without repeats.
const (
	sightListVersion = 1
	sightSize        = 1 + 8 + 8
)

// encodeSightings returns the list column of s, which must say something
// (store.Sightings.Empty is false) and be within the bounds.
func encodeSightings(s *store.Sightings) ([]byte, error) {
	if len(s.List) > store.MaxSightings || (s.FlaggedAt == 0) != (s.Reason == "") || s.Empty() {
		return nil, fmt.Errorf("%w: sightings record out of bounds", store.ErrInvalid)
	}
	list := slices.Clone(s.List)
	slices.SortFunc(list, cmpSighting)
	b := make([]byte, 1, 1+len(list)*sightSize)
	b[0] = sightListVersion
	for i, x := range list {
		if x.Kind != store.SightMachine && x.Kind != store.SightNetwork {
			return nil, fmt.Errorf("%w: sighting of kind %d", store.ErrInvalid, x.Kind)
		}
		if i > 0 && cmpSighting(list[i-1], x) == 0 {
			return nil, fmt.Errorf("%w: a sighting twice", store.ErrInvalid)
		}
		b = append(b, byte(x.Kind))
		b = binary.BigEndian.AppendUint64(b, x.Hash)
		b = binary.BigEndian.AppendUint64(b, uint64(x.Last))
	}
	return b, nil
}

func cmpSighting(a, b store.Sighting) int {
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return cmp.Compare(a.Hash, b.Hash)
}

// decodeSightings returns the sightings of a row.
func decodeSightings(flaggedAt int64, reason string, list []byte) (store.Sightings, error) {
	s := store.Sightings{FlaggedAt: flaggedAt, Reason: reason}
	if len(list) < 1 || list[0] != sightListVersion || (len(list)-1)%sightSize != 0 || (len(list)-1)/sightSize > store.MaxSightings {
		return store.Sightings{}, fmt.Errorf("%w: sightings list", store.ErrCorrupt)
	}
	if (flaggedAt == 0) != (reason == "") {
		return store.Sightings{}, fmt.Errorf("%w: sightings: a flag without a reason, or a reason without a flag", store.ErrCorrupt)
	}
	for p := list[1:]; len(p) > 0; p = p[sightSize:] {
		x := store.Sighting{Kind: store.SightKind(p[0]), Hash: binary.BigEndian.Uint64(p[1:9]), Last: int64(binary.BigEndian.Uint64(p[9:17]))}
		if x.Kind != store.SightMachine && x.Kind != store.SightNetwork {
			return store.Sightings{}, fmt.Errorf("%w: sighting of kind %d", store.ErrCorrupt, x.Kind)
		}
		if n := len(s.List); n > 0 && cmpSighting(s.List[n-1], x) >= 0 {
			return store.Sightings{}, fmt.Errorf("%w: sightings out of order or repeated", store.ErrCorrupt)
		}
		s.List = append(s.List, x)
	}
	if s.Empty() {
		return store.Sightings{}, fmt.Errorf("%w: empty sightings record", store.ErrCorrupt)
	}
	return s, nil
}

// shopRest is the part of a shop that is not in columns.
type shopRest struct {
	V          int            `json:"v"`
	Networks   []netip.Prefix `json:"networks"`
	Products   []string       `json:"products"`
	DailyQuota uint32         `json:"daily_quota,omitempty"`
	Created    int64          `json:"created"`
}

func encodeShop(sh *store.Shop) ([]byte, error) {
	b, err := json.Marshal(shopRest{V: recordVersion, Networks: sh.Networks, Products: sh.Products, DailyQuota: sh.DailyQuota, Created: sh.Created})
	if err != nil {
		return nil, fmt.Errorf("store: encode shop: %w", err)
	}
	return b, nil
}

func decodeShop(name string, key, rec []byte) (store.Shop, error) {
	sh := store.Shop{Name: name}
	if len(key) != len(sh.PublicKey) {
		return store.Shop{}, fmt.Errorf("%w: shop %q: public key of %d bytes", store.ErrCorrupt, name, len(key))
	}
	var rest shopRest
	if err := decodeRecord(rec, &rest, &rest.V, "shop"); err != nil {
		return store.Shop{}, err
	}
	sh.PublicKey = [32]byte(key)
	sh.Networks, sh.Products, sh.DailyQuota, sh.Created = rest.Networks, rest.Products, rest.DailyQuota, rest.Created
	return sh, nil
}

// productRecord is a catalogue entry's record column: the whole entry
// (its code is also the row's key, and must match it).
type productRecord struct {
	V       int           `json:"v"`
	Product store.Product `json:"product"`
}

func encodeProduct(p *store.Product) ([]byte, error) {
	b, err := json.Marshal(productRecord{V: recordVersion, Product: *p})
	if err != nil {
		return nil, fmt.Errorf("store: encode product: %w", err)
	}
	return b, nil
}

func decodeProduct(code string, rec []byte) (store.Product, error) {
	var r productRecord
	if err := decodeRecord(rec, &r, &r.V, "product"); err != nil {
		return store.Product{}, err
	}
	if r.Product.Code != code {
		return store.Product{}, fmt.Errorf("%w: the record of product %q names %q", store.ErrCorrupt, code, r.Product.Code)
	}
	return r.Product, nil
}
