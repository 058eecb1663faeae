package pebblestore

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// Version 2 records: binary, the fields in a fixed order, integers as
// varints, strings and byte strings after their length. A record must be
// read to its last byte; anything short, long or out of range is
// ErrCorrupt. Part of the on-disk format.

// Bounds of version 2 fields, well above anything written.
const (
	maxRecString = 4096    // a product code, hostname, shop or order id
	maxRecList   = 1024    // bundle products, entitlements
	maxRecBytes  = 1 << 16 // a lease, an order's request bytes
	maxRecSealed = 1 << 26 // an order's sealed keys
	maxRecActs   = 1 << 20 // activations of one license
)

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendList(b []byte, l []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(l)))
	for _, s := range l {
		b = appendStr(b, s)
	}
	return b
}

// fitList reports whether l is within the bounds list reads.
func fitList(l []string) bool {
	if len(l) > maxRecList {
		return false
	}
	for _, s := range l {
		if len(s) > maxRecString {
			return false
		}
	}
	return true
}

// recReader reads a version 2 record; the first error sticks.
type recReader struct {
	b    []byte
	err  error
	what string
}

func (r *recReader) fail(field string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s record: %s", store.ErrCorrupt, r.what, field)
	}
	r.b = nil
}

func (r *recReader) fixed(dst []byte, field string) {
	if len(r.b) < len(dst) {
		r.fail(field)
		return
	}
	copy(dst, r.b)
	r.b = r.b[len(dst):]
}

func (r *recReader) byte(field string) byte {
	if len(r.b) < 1 {
		r.fail(field)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *recReader) uvarint(max uint64, field string) uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > max {
		r.fail(field)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recReader) varint(field string) int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(field)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recReader) bytes(max int, field string) []byte {
	n := r.uvarint(uint64(max), field)
	if uint64(len(r.b)) < n {
		r.fail(field)
		return nil
	}
	if n == 0 {
		return nil
	}
	v := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return v
}

func (r *recReader) str(field string) string {
	n := r.uvarint(maxRecString, field)
	if uint64(len(r.b)) < n {
		r.fail(field)
		return ""
	}
	v := string(r.b[:n])
	r.b = r.b[n:]
	return v
}

func (r *recReader) list(field string) []string {
	n := r.uvarint(maxRecList, field)
	if n == 0 || r.err != nil {
		return nil
	}
	l := make([]string, 0, min(n, uint64(len(r.b))))
	for range n {
		l = append(l, r.str(field))
		if r.err != nil {
			return nil
		}
	}
	return l
}

// start checks the version byte.
func (r *recReader) start() {
	if r.byte("version") != recordVersionV2 {
		r.fail("version")
	}
}

// end reports the first error, or trailing bytes.
func (r *recReader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	return r.err
}

// License record flags (version 3). Part of the on-disk format.
const (
	licFloating   = 1 << 0 // Policy.Floating
	licTrial      = 1 << 1 // License.Trial
	licFlagsKnown = licFloating | licTrial
)

// maxRecResets bounds License.Resets: the service keeps only the last 30
// days' resets, far fewer than this.
const maxRecResets = 1024

// licenseV3 reports whether l has a field only version 3 records hold.
func licenseV3(l *store.License) bool {
	return l.Policy.Floating || l.Trial || l.Base != "" || len(l.Resets) > 0
}

// appendLicenseV2 encodes l as a version 2 record, or as version 3 when it
// has a field version 2 lacks (licenseV3): the version 2 fields, then a
// flags byte, the base product and the reset times. A license without them
// keeps the version 2 bytes, which earlier gateways read.
func appendLicenseV2(b []byte, l *store.License, acts int) ([]byte, error) {
	if acts < 0 || acts > maxRecActs || len(l.Product) > maxRecString || len(l.Shop) > maxRecString ||
		len(l.Order) > maxRecString || !fitList(l.Bundle) || !fitList(l.Entitlements) ||
		len(l.Base) > maxRecString || len(l.Resets) > maxRecResets {
		return nil, fmt.Errorf("%w: license record out of bounds", store.ErrInvalid)
	}
	v3 := licenseV3(l)
	if v3 {
		b = append(b, recordVersionV3)
	} else {
		b = append(b, recordVersionV2)
	}
	b = append(b, l.ID[:]...)
	b = append(b, l.KeyHash[:]...)
	b = appendStr(b, l.Product)
	b = appendList(b, l.Bundle)
	b = appendList(b, l.Entitlements)
	b = binary.AppendUvarint(b, uint64(l.Seats))
	b = append(b, byte(l.Term.Kind))
	b = binary.AppendUvarint(b, uint64(l.Term.Value))
	b = binary.AppendVarint(b, l.AbsExpiry)
	b = binary.AppendVarint(b, l.Activated)
	b = append(b, byte(l.State), l.Policy.Level)
	b = binary.AppendUvarint(b, uint64(l.Policy.OnlineDays))
	b = binary.AppendUvarint(b, uint64(l.Policy.WarnDays))
	b = binary.AppendUvarint(b, uint64(l.Policy.LeaseSeconds))
	b = binary.AppendVarint(b, l.Created)
	b = appendStr(b, l.Shop)
	b = appendStr(b, l.Order)
	b = binary.AppendUvarint(b, uint64(acts))
	if !v3 {
		return b, nil
	}
	var flags byte
	if l.Policy.Floating {
		flags |= licFloating
	}
	if l.Trial {
		flags |= licTrial
	}
	b = append(b, flags)
	b = appendStr(b, l.Base)
	b = binary.AppendUvarint(b, uint64(len(l.Resets)))
	for _, t := range l.Resets {
		b = binary.AppendVarint(b, t)
	}
	return b, nil
}

func parseLicenseV2(b []byte) (store.License, int, error) {
	r := recReader{b: b, what: "license"}
	var l store.License
	v := r.byte("version")
	if v != recordVersionV2 && v != recordVersionV3 {
		r.fail("version")
	}
	r.fixed(l.ID[:], "id")
	r.fixed(l.KeyHash[:], "key hash")
	l.Product = r.str("product")
	l.Bundle = r.list("bundle")
	l.Entitlements = r.list("entitlements")
	l.Seats = uint32(r.uvarint(math.MaxUint32, "seats"))
	l.Term.Kind = store.TermKind(r.byte("term"))
	l.Term.Value = uint16(r.uvarint(math.MaxUint16, "term"))
	l.AbsExpiry = r.varint("expiry")
	l.Activated = r.varint("activated")
	l.State = store.State(r.byte("state"))
	l.Policy.Level = r.byte("policy")
	l.Policy.OnlineDays = uint16(r.uvarint(math.MaxUint16, "policy"))
	l.Policy.WarnDays = uint16(r.uvarint(math.MaxUint16, "policy"))
	l.Policy.LeaseSeconds = uint32(r.uvarint(math.MaxUint32, "policy"))
	l.Created = r.varint("created")
	l.Shop = r.str("shop")
	l.Order = r.str("order")
	acts := int(r.uvarint(maxRecActs, "activations"))
	if v == recordVersionV3 {
		flags := r.byte("flags")
		if flags&^licFlagsKnown != 0 {
			r.fail("flags")
		}
		l.Policy.Floating = flags&licFloating != 0
		l.Trial = flags&licTrial != 0
		l.Base = r.str("base")
		n := r.uvarint(maxRecResets, "resets")
		for i := uint64(0); i < n && r.err == nil; i++ {
			l.Resets = append(l.Resets, r.varint("resets"))
		}
		if r.err == nil && !licenseV3(&l) {
			r.fail("version 3 without its fields") // one encoding per license
		}
	}
	if err := r.end(); err != nil {
		return store.License{}, 0, err
	}
	return l, acts, nil
}

// Activation record flags (version 3). Part of the on-disk format.
const (
	actPrivate    = 1 << 0 // Activation.Private
	actFlagsKnown = actPrivate
)

// appendActivationV3 encodes a as version 2 does, with a flags byte after
// the version.
func appendActivationV3(b []byte, a *store.Activation) ([]byte, error) {
	if a.Fingerprint.N == 0 || int(a.Fingerprint.N) > wire.MaxComponents {
		return nil, fmt.Errorf("%w: activation without a fingerprint", store.ErrInvalid)
	}
	if len(a.Hostname) > maxRecString || len(a.AppVersion) > maxRecString || len(a.Lease) > maxRecBytes {
		return nil, fmt.Errorf("%w: activation record out of bounds", store.ErrInvalid)
	}
	var flags byte
	if a.Private {
		flags |= actPrivate
	}
	b = append(b, recordVersionV3, flags)
	b = append(b, a.License[:]...)
	b = append(b, a.Install[:]...)
	b = a.Fingerprint.Append(b)
	b = appendStr(b, a.Hostname)
	b = appendStr(b, a.AppVersion)
	b = binary.AppendVarint(b, a.Created)
	b = binary.AppendVarint(b, a.LastSeen)
	b = binary.AppendUvarint(b, a.Counter)
	b = appendBytes(b, a.Lease)
	b = binary.AppendVarint(b, a.LeaseIssued)
	return binary.AppendVarint(b, a.LeaseExpiry), nil
}

// parseActivationBin decodes a version 2 or version 3 activation record.
func parseActivationBin(b []byte) (store.Activation, error) {
	r := recReader{b: b, what: "activation"}
	var a store.Activation
	v := r.byte("version")
	switch v {
	case recordVersionV2:
	case recordVersionV3:
		flags := r.byte("flags")
		if flags&^actFlagsKnown != 0 {
			r.fail("flags")
		}
		a.Private = flags&actPrivate != 0
	default:
		r.fail("version")
	}
	r.fixed(a.License[:], "license")
	r.fixed(a.Install[:], "install")
	if r.err == nil {
		fp, n, err := wire.ParseFingerprint(r.b)
		if err != nil {
			r.fail("fingerprint")
		} else {
			a.Fingerprint, r.b = fp, r.b[n:]
		}
	}
	a.Hostname = r.str("hostname")
	a.AppVersion = r.str("app version")
	a.Created = r.varint("created")
	a.LastSeen = r.varint("last seen")
	a.Counter = r.uvarint(math.MaxUint64, "counter")
	a.Lease = r.bytes(maxRecBytes, "lease")
	a.LeaseIssued = r.varint("lease issued")
	a.LeaseExpiry = r.varint("lease expiry")
	if err := r.end(); err != nil {
		return store.Activation{}, err
	}
	return a, nil
}

func appendOrderV2(b []byte, o *store.Order) ([]byte, error) {
	if len(o.Shop) > maxRecString || len(o.ID) > maxRecString || len(o.Product) > maxRecString ||
		len(o.Request) > maxRecBytes || len(o.Sealed) > maxRecSealed || o.Count < 0 || o.Count > store.MaxMintKeys {
		return nil, fmt.Errorf("%w: order record out of bounds", store.ErrInvalid)
	}
	b = append(b, recordVersionV2)
	b = appendStr(b, o.Shop)
	b = appendStr(b, o.ID)
	b = appendBytes(b, o.Request)
	b = appendBytes(b, o.Sealed)
	b = binary.AppendUvarint(b, uint64(o.Count))
	b = appendStr(b, o.Product)
	return binary.AppendVarint(b, o.Created), nil
}

func parseOrderV2(b []byte) (store.Order, error) {
	r := recReader{b: b, what: "order"}
	var o store.Order
	r.start()
	o.Shop = r.str("shop")
	o.ID = r.str("id")
	o.Request = r.bytes(maxRecBytes, "request")
	o.Sealed = r.bytes(maxRecSealed, "sealed keys")
	o.Count = int(r.uvarint(store.MaxMintKeys, "count"))
	o.Product = r.str("product")
	o.Created = r.varint("created")
	if err := r.end(); err != nil {
		return store.Order{}, err
	}
	return o, nil
}
