package store

// AuditEntry is one line of the append-only audit log: every mint, status
// change, shop refusal, reset and shop registration. Prev is the SHA-256 of
// the previous entry's stored bytes, so an edited or deleted entry breaks
// the chain (VerifyAudit). It never holds a license key: licenses are named
// by a prefix of their public id.
type AuditEntry struct {
	Seq     uint64 `json:"seq"`
	Time    int64  `json:"time"` // Unix seconds
	Kind    string `json:"kind"` // such as "mint", "license.revoke", "shop.refused"
	Shop    string `json:"shop,omitempty"`
	License string `json:"license,omitempty"` // license id prefix, never the key
	Detail  string `json:"detail,omitempty"`
	Prev    string `json:"prev"` // hex SHA-256 of the previous entry; zeros for the first
}
