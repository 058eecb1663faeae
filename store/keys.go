package store

import "github.com/tollgate/tollgate/keygen"

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
	pfxAudit      = 'z' // z | sequence (8)              -> audit entry
	keyAuditHead  = "Z" // the last audit entry's sequence (8) and hash (32)
)

func licenseKey(h keygen.KeyHash) []byte { return append([]byte{pfxLicense}, h[:]...) }
func licenseIDKey(id LicenseID) []byte   { return append([]byte{pfxLicenseID}, id[:]...) }

func activationKey(pfx byte, id LicenseID, in InstallID) []byte {
	k := make([]byte, 0, 1+len(id)+len(in))
	k = append(k, pfx)
	k = append(k, id[:]...)
	return append(k, in[:]...)
}
