package pebblestore

import (
	"bytes"
	"encoding/binary"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
)

// The key layout in Pebble: every key prefix, in one place. Part of the
// on-disk format.
const (
	pfxLicense    = 'l' // l | key hash (32)             -> license record
	pfxLicenseID  = 'i' // i | license id (16)           -> key hash (32), only for an id not IDFor(key hash)
	pfxActivation = 'a' // a | license id | install (32) -> activation record
	pfxSeen       = 't' // t | license id | install      -> last seen (8) | counter (8), written behind
	pfxSightings  = 'm' // m | license id (16)           -> sightings record
	pfxShop       = 's' // s | name                      -> shop record
	pfxProduct    = 'p' // p | product code (5)          -> product record
	pfxOrder      = 'o' // o | len(shop) | shop | order id -> order record
	pfxQuota      = 'q' // q | len(shop) | shop | day (8) -> keys minted that UTC day (4)
	pfxEvent      = 'e' // e | len(shop) | shop | seq (8) -> shop event record (event.go)
	pfxExpiring   = 'x' // x | license id (16) | end (8)  -> seq (8) of the expiring event appended for that end
	pfxAudit      = 'z' // z | sequence (8)              -> audit entry
	keyAuditHead  = "Z" // the last audit entry's sequence (8) and hash (32)
	pfxTrial      = 'T' // T | product (5) | install (32) -> trial mark (store.EncodeTrial, trial.go)
	pfxTrialFP    = 'U' // U | product (5) | kind (1) | keyed hash (8) | install (32) -> nothing: a trial's fingerprint component
)

func licenseKey(h keygen.KeyHash) []byte     { return append([]byte{pfxLicense}, h[:]...) }
func licenseIDKey(id store.LicenseID) []byte { return append([]byte{pfxLicenseID}, id[:]...) }

func activationKey(pfx byte, id store.LicenseID, in store.InstallID) []byte {
	k := make([]byte, 0, 1+len(id)+len(in))
	k = append(k, pfx)
	k = append(k, id[:]...)
	return append(k, in[:]...)
}

func sightingsKey(id store.LicenseID) []byte { return append([]byte{pfxSightings}, id[:]...) }

func shopKey(name string) []byte { return append([]byte{pfxShop}, name...) }

func productKey(code string) []byte { return append([]byte{pfxProduct}, code...) }

func orderKey(shop, id string) []byte {
	k := make([]byte, 0, 2+len(shop)+len(id))
	k = append(k, pfxOrder, byte(len(shop)))
	k = append(k, shop...)
	return append(k, id...)
}

func quotaKey(shop string, day int64) []byte {
	k := make([]byte, 0, 10+len(shop))
	k = append(k, pfxQuota, byte(len(shop)))
	k = append(k, shop...)
	return binary.BigEndian.AppendUint64(k, uint64(day))
}

// eventPrefix is the prefix of every event of shop's stream.
func eventPrefix(shop string) []byte {
	k := make([]byte, 0, 10+len(shop))
	k = append(k, pfxEvent, byte(len(shop)))
	return append(k, shop...)
}

func eventKey(shop string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(eventPrefix(shop), seq)
}

func expiringKey(id store.LicenseID, end int64) []byte {
	k := append([]byte{pfxExpiring}, id[:]...)
	return binary.BigEndian.AppendUint64(k, uint64(end))
}

func auditKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{pfxAudit}, seq)
}

// prefixEnd returns the smallest key above every key that begins with p.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i]++; end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}
