package store

import "github.com/tollgate/tollgate/wire"

// Order is a shop's minting order as recorded: the canonical bytes of the
// request (wire.MintRequest.AppendOrder) and the keys it produced, sealed
// by the gateway, so that a retry of the same order gets the same keys and
// a different request under the same id is told apart. The store never
// sees the keys in the clear.
type Order struct {
	Shop    string `json:"shop"`
	ID      string `json:"id"`
	Request []byte `json:"request"` // canonical order bytes
	Sealed  []byte `json:"sealed"`  // the keys, encrypted by the gateway
	Count   int    `json:"count"`
	Product string `json:"product"`
	Created int64  `json:"created"`
}

// MaxMintKeys is the most keys one order (or one operator's mint) may
// make, as the wire bounds a mint request: a mint of that many is a few
// megabytes written in one commit.
const MaxMintKeys = wire.MaxMintCount
