// Package deps pins, in go.mod, the modules that the gateway, store and
// benchmark packages are built on until those packages import them
// themselves. It has no code and nothing imports it.
package deps

import (
	_ "github.com/HdrHistogram/hdrhistogram-go"
	_ "github.com/cloudflare/circl/sign/mldsa/mldsa44"
	_ "github.com/cockroachdb/pebble/v2"
	_ "github.com/dgraph-io/ristretto/v2"
	_ "github.com/flynn/noise"
	_ "github.com/quic-go/quic-go"
)
