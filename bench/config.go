package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/wire"
)

// Scenario names a workload.
type Scenario string

// Scenarios.
const (
	// Validate: Conns connections, each with Inflight validations in
	// flight over Streams Noise sessions, of Licenses licenses activated
	// beforehand: the hot path.
	Validate Scenario = "validate"
	// Activate: fresh keys activated by fresh machines (a new fingerprint
	// each time) on long-lived sessions: durable writes and lease signing.
	// Lease signing alone is measured in the same run for comparison.
	// An embedded gateway is loaded twice, first signing every lease alone
	// (lease_batch 1), then as GatewayLeaseBatch says (batched by
	// default), so that both rates come from the same run.
	Activate Scenario = "activate"
	// Handshake: Conns at a time, a new QUIC connection and Noise session
	// for each validation, as an app does at start-up.
	Handshake Scenario = "handshake"
	// Mint: shops asking for batches of Batch keys over the shop channel
	// (Noise KK), one shop per connection.
	Mint Scenario = "mint"
	// Mixed: validations, handshakes, activations and deactivations in
	// the proportions of Mix.
	Mixed Scenario = "mixed"
	// Ceiling: the bare quic-go echo alone, with validate's shape and
	// frame sizes.
	Ceiling Scenario = "ceiling"
	// IdleMemory: Sessions idle sessions held open; the gateway's RSS per
	// session against a bare quic-go server's per idle connection.
	IdleMemory Scenario = "idle-memory"
	// Flood: validate's load measured alone, then under a flood of QUIC
	// Initial packets from loopback addresses that never answer (issue
	// 12); the gateway's RSS before, at its peak and after.
	Flood Scenario = "flood"
	// RevokeDelay: on two gateways sharing a PostgreSQL store, Revocations
	// times a license activated through node A, validated through node B
	// (which caches it), revoked by its shop through node A; the time from
	// the revocation's answer to node B's first REVOKED validation, which
	// a tight loop of validations on B looks for.
	RevokeDelay Scenario = "revoke-delay"
	// MintHTTP: one shop's orders of 1, 10 and 1,000 keys through the
	// shop's HTTP bridge (clients/bridge, in process, on loopback) and
	// through the Go shop client, and the bridge's webhook delivery of
	// Activations activations' events.
	MintHTTP Scenario = "mint-http"
)

// Scenarios lists every scenario.
var Scenarios = []Scenario{Validate, Activate, Handshake, Mint, Mixed, Ceiling, IdleMemory, Flood, RevokeDelay, MintHTTP}

// Mix weighs the operations of the Mixed scenario; only the ratios matter.
type Mix struct {
	Validate, Handshake, Activate, Deactivate float64
}

// DefaultMix is 90% validations, 5% handshakes (each with a validation),
// 4% activations and 1% deactivations.
var DefaultMix = Mix{Validate: 90, Handshake: 5, Activate: 4, Deactivate: 1}

func (m Mix) total() float64 { return m.Validate + m.Handshake + m.Activate + m.Deactivate }

// Config configures one run of one scenario.
type Config struct {
	// Scenario is the workload. Required.
	Scenario Scenario

	// Addr is the address of a gateway started separately. Empty means
	// embedded: a gateway prepared in a temporary directory and served
	// by a child process.
	Addr string
	// Card is the server card of the gateway at Addr; required with Addr.
	Card *wire.Card
	// PID is the process id of the gateway at Addr, to measure its CPU
	// time and memory; zero means they are not measured.
	PID int
	// Keys are license keys of the gateway at Addr that the scenario may
	// activate: validate and handshake activate them first (and
	// deactivate them at the end), activate activates them, mixed
	// validates the first Licenses and activates the rest. Each needs a
	// free seat.
	Keys []keygen.Key
	// ShopKey is a shop's Noise key registered with the gateway at Addr
	// (networks including 127.0.0.1, Product allowed); required for mint
	// with Addr.
	ShopKey channel.PrivateKey
	// Product is the product code of the keys the embedded gateway mints
	// and the mint scenario asks for. Zero means 1AJS2.
	Product string

	// Store is the connection string (postgres://) of an empty PostgreSQL
	// database in which the embedded gateway keeps its state: the run
	// makes its schema, fills it and leaves it filled. It may hold a
	// password, which the run never prints. Empty means the embedded
	// store (Pebble) in the gateway's data directory.
	Store string
	// Nodes is the number of embedded gateways sharing Store, each a
	// child process with its own data directory and port and one
	// identity; the connections go to them in turn. Zero means 1 (2 for
	// revoke-delay); more needs Store.
	Nodes int
	// Revocations is the number of licenses revoke-delay revokes. Zero
	// means 200.
	Revocations int
	// Activations is the number of activations mint-http times from
	// their answer to their webhook's 2xx. Zero means 200.
	Activations int

	// Conns is the number of QUIC connections (for handshake and
	// idle-memory: connections being opened at a time). Zero means the
	// scenario's default (see Defaults).
	Conns int
	// Streams is the number of Noise sessions (QUIC streams) per
	// connection. Zero means the scenario's default.
	Streams int
	// Inflight is the number of requests in flight per connection, shared
	// equally by its streams. Zero means the scenario's default.
	Inflight int
	// Duration is the measured window. Zero means 10 s.
	Duration time.Duration
	// Warmup runs before the measured window. Zero means 1 s; negative
	// means none.
	Warmup time.Duration
	// Rate, when not zero, makes the load an open loop offering Rate
	// requests per second.
	Rate float64
	// RateFraction, when not zero, runs a closed loop first to find the
	// maximum throughput, then an open loop at RateFraction of it; the
	// result is the open loop's. Exclusive with Rate.
	RateFraction float64
	// Ceiling runs the bare quic-go echo with the same shape right after
	// the scenario and reports its throughput and the ratio.
	Ceiling bool

	// Licenses is the number of distinct licenses validated (validate,
	// mixed, flood). Zero means 10,000 embedded (1,000 for flood), and with Addr every key of Keys
	// for validate and half of them for mixed.
	Licenses int
	// Pool is the number of fresh keys the embedded gateway mints for
	// activate and mixed to activate. Zero means enough for 4,000
	// activations a second (activate) or 2,000 (mixed) over the warmup and
	// the window; a run that uses them up ends early and says so.
	Pool int
	// Batch is the number of keys per mint request. Zero means 10,000.
	Batch int
	// Sessions is the number of idle sessions held open by idle-memory.
	// Zero means 10,000.
	Sessions int
	// Mix weighs mixed's operations. Zero means DefaultMix.
	Mix Mix
	// Scheme is the embedded gateway's lease signature. Zero means
	// ML-DSA-44 with Ed25519.
	Scheme composite.Scheme
	// GatewayCPUProfile, when set, is where the embedded gateway writes a
	// CPU profile of the measured windows.
	GatewayCPUProfile string
	// GatewayTrace, when set, is where the embedded gateway writes an
	// execution trace (runtime/trace) from the first measured window on.
	GatewayTrace string
	// GatewayMemProfile, when set, is where the embedded gateway writes a
	// heap profile each time its memory is measured (idle-memory: the last
	// one holds the idle sessions).
	GatewayMemProfile string
	// GatewayCacheEntries sets the embedded gateway's cache_entries (its
	// hot cache, in activations). Zero means the gateway's default.
	GatewayCacheEntries int64
	// GatewayLeaseBatch sets the embedded gateway's lease_batch: the most
	// leases it signs with one signature. Zero means the gateway's default
	// (64); 1 signs every lease alone, and activate then loads the gateway
	// once.
	GatewayLeaseBatch int
	// FloodRate is the Initial packets a second the flood scenario sends.
	// Zero means DefaultFloodRate (10,000).
	FloodRate float64
	// FloodUndecryptable is the share of the flood's Initials whose
	// payload does not decrypt. Zero means DefaultFloodUndecryptable
	// (0.2); negative means none.
	FloodUndecryptable float64
	// FloodSources is how many loopback addresses the flood comes from
	// (127.0.1.1 and up). Zero means DefaultFloodSources (64).
	FloodSources int
	// GatewayNoAdmission runs the embedded gateway with its admission
	// limits turned off (no Retry, no caps on handshakes or connections):
	// the flood scenario without the defence, for comparison.
	GatewayNoAdmission bool

	// Progress receives a progress line about once a second. Nil means
	// none.
	Progress io.Writer
}

// Shape is a scenario's default load shape.
type Shape struct {
	Conns, Streams, Inflight int
}

// Defaults returns scenario s's default shape.
func Defaults(s Scenario) Shape {
	switch s {
	case Activate:
		return Shape{Conns: 4, Streams: 1, Inflight: 16}
	case Handshake:
		return Shape{Conns: 8, Streams: 1, Inflight: 1}
	case Mint:
		return Shape{Conns: 2, Streams: 1, Inflight: 2}
	case MintHTTP:
		// Inflight orders at a time; Conns activations at a time.
		return Shape{Conns: 4, Streams: 1, Inflight: 2}
	case RevokeDelay:
		return Shape{Conns: 1, Streams: 1, Inflight: 1}
	case IdleMemory:
		return Shape{Conns: 32, Streams: 1, Inflight: 1}
	}
	return Shape{Conns: 8, Streams: 1, Inflight: 32}
}

// setDefaults fills in zero fields and checks the rest.
func (c *Config) setDefaults() error {
	known := false
	for _, s := range Scenarios {
		known = known || s == c.Scenario
	}
	if !known {
		return fmt.Errorf("%w: unknown scenario %q", ErrConfig, c.Scenario)
	}
	d := Defaults(c.Scenario)
	if c.Conns == 0 {
		c.Conns = d.Conns
	}
	if c.Streams == 0 {
		c.Streams = d.Streams
	}
	if c.Inflight == 0 {
		c.Inflight = max(d.Inflight, c.Streams)
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	switch {
	case c.Warmup == 0:
		c.Warmup = time.Second
	case c.Warmup < 0:
		c.Warmup = 0
	}
	if c.Product == "" {
		c.Product = "1AJS2"
	}
	if c.Batch == 0 {
		c.Batch = wire.MaxMintCount
	}
	if c.Sessions == 0 {
		c.Sessions = 10000
	}
	if c.Mix == (Mix{}) {
		c.Mix = DefaultMix
	}
	if c.Scheme == 0 {
		c.Scheme = composite.MLDSA44Ed25519
	}
	if c.FloodRate == 0 {
		c.FloodRate = DefaultFloodRate
	}
	switch {
	case c.FloodUndecryptable == 0:
		c.FloodUndecryptable = DefaultFloodUndecryptable
	case c.FloodUndecryptable < 0:
		c.FloodUndecryptable = 0
	}
	if c.FloodSources == 0 {
		c.FloodSources = DefaultFloodSources
	}
	if c.Nodes == 0 {
		c.Nodes = 1
		if c.Scenario == RevokeDelay {
			c.Nodes = 2
		}
	}
	if c.Revocations == 0 {
		c.Revocations = 200
	}
	if c.Activations == 0 {
		c.Activations = 200
	}
	switch {
	case c.Conns < 1 || c.Conns > 100000:
		return fmt.Errorf("%w: conns %d not in 1..100000", ErrConfig, c.Conns)
	case c.Streams < 1 || c.Streams > channel.DefaultMaxStreamsPerConn:
		return fmt.Errorf("%w: streams %d not in 1..%d (the gateway's streams per connection)", ErrConfig, c.Streams, channel.DefaultMaxStreamsPerConn)
	case c.Inflight < 1 || c.Inflight%c.Streams != 0 || c.Inflight/c.Streams > maxSlots:
		return fmt.Errorf("%w: inflight %d must be a multiple of streams (%d), at most %d per stream", ErrConfig, c.Inflight, c.Streams, maxSlots)
	case c.Duration < 0 || c.Duration > 24*time.Hour:
		return fmt.Errorf("%w: duration %v not in 0..24h", ErrConfig, c.Duration)
	case c.Warmup > time.Hour:
		return fmt.Errorf("%w: warmup %v over an hour", ErrConfig, c.Warmup)
	case c.Rate < 0 || c.Rate > 10_000_000:
		return fmt.Errorf("%w: rate %v not in 0..10,000,000", ErrConfig, c.Rate)
	case c.RateFraction < 0 || c.RateFraction > 1:
		return fmt.Errorf("%w: rate fraction %v not in 0..1", ErrConfig, c.RateFraction)
	case c.Rate > 0 && c.RateFraction > 0:
		return fmt.Errorf("%w: a rate and a rate fraction", ErrConfig)
	case c.GatewayLeaseBatch < 0 || c.GatewayLeaseBatch > wire.MaxLeaseBatch:
		return fmt.Errorf("%w: lease batch %d is not between 0 and %d", ErrConfig, c.GatewayLeaseBatch, wire.MaxLeaseBatch)
	case c.Licenses < 0 || c.Pool < 0 || c.Sessions < 0 || c.GatewayCacheEntries < 0:
		return fmt.Errorf("%w: negative licenses, pool, sessions or cache entries", ErrConfig)
	case c.Batch < 1 || c.Batch > wire.MaxMintCount:
		return fmt.Errorf("%w: batch %d not in 1..%d", ErrConfig, c.Batch, wire.MaxMintCount)
	case c.Sessions > 1_000_000:
		return fmt.Errorf("%w: sessions %d over 1,000,000", ErrConfig, c.Sessions)
	case c.FloodRate < 0 || c.FloodRate > 1_000_000 || c.FloodUndecryptable > 1 || c.FloodSources < 0 || c.FloodSources > 1000:
		return fmt.Errorf("%w: flood rate %v not in 0..1,000,000, undecryptable share %v over 1, or sources %d not in 0..1000", ErrConfig, c.FloodRate, c.FloodUndecryptable, c.FloodSources)
	case c.Mix.Validate < 0 || c.Mix.Handshake < 0 || c.Mix.Activate < 0 || c.Mix.Deactivate < 0 || c.Mix.total() <= 0:
		return fmt.Errorf("%w: mix weights must be positive", ErrConfig)
	case c.Nodes < 1 || c.Nodes > 16:
		return fmt.Errorf("%w: nodes %d not in 1..16", ErrConfig, c.Nodes)
	case c.Revocations < 1 || c.Revocations > 100000:
		return fmt.Errorf("%w: revocations %d not in 1..100000", ErrConfig, c.Revocations)
	case c.Activations < 1 || c.Activations > 100000:
		return fmt.Errorf("%w: activations %d not in 1..100000", ErrConfig, c.Activations)
	case c.Store != "" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://"):
		return fmt.Errorf("%w: the store's connection string is not a postgres:// URL", ErrConfig)
	case c.Store != "" && c.Addr != "":
		return fmt.Errorf("%w: a store is for the embedded gateway only (a gateway started separately has its own)", ErrConfig)
	case c.Nodes > 1 && c.Store == "":
		return fmt.Errorf("%w: %d nodes without a store: several gateways share a PostgreSQL store (give one)", ErrConfig, c.Nodes)
	case c.Scenario == RevokeDelay && c.Nodes < 2:
		return fmt.Errorf("%w: revoke-delay needs two nodes or more", ErrConfig)
	case c.Nodes > 1 && (c.Scenario == Ceiling || c.Scenario == IdleMemory || c.Scenario == Flood || c.Scenario == Handshake):
		return fmt.Errorf("%w: %s runs on one node", ErrConfig, c.Scenario)
	case c.Store == "" && c.Addr == "" && os.Getenv(gateway.EnvStore) != "":
		return fmt.Errorf("%w: %s is set, which would take the embedded gateway to another store than its data directory's: unset it, or give the store", ErrConfig, gateway.EnvStore)
	}
	if _, err := keygen.ParseProductCode(c.Product); err != nil {
		return fmt.Errorf("%w: product %q: %w", ErrConfig, c.Product, err)
	}
	if c.Addr == "" {
		if c.Card != nil || c.PID != 0 || len(c.Keys) > 0 || !c.ShopKey.IsZero() {
			return fmt.Errorf("%w: a card, pid, keys or shop key without an address (they are for a gateway started separately)", ErrConfig)
		}
		if c.Licenses == 0 {
			c.Licenses = 10000
			if c.Scenario == Flood {
				// The flood's memory, not the cache's, is what flood
				// measures: fewer licenses keep the gateway's own small.
				c.Licenses = 1000
			}
		}
		return nil
	}
	if c.Card == nil {
		return fmt.Errorf("%w: an address without a server card", ErrConfig)
	}
	if c.GatewayCPUProfile != "" || c.GatewayTrace != "" || c.GatewayMemProfile != "" || c.GatewayCacheEntries != 0 || c.GatewayNoAdmission || c.GatewayLeaseBatch != 0 {
		return fmt.Errorf("%w: the gateway's profiles, trace, cache size, admission limits and lease batch are for an embedded gateway only", ErrConfig)
	}
	need := 0
	switch c.Scenario {
	case Validate, Activate, Handshake, IdleMemory, Flood:
		need = 1
	case Mixed:
		need = 2
	case Mint, MintHTTP:
		if c.ShopKey.IsZero() {
			return fmt.Errorf("%w: %s against a running gateway needs a registered shop's key", ErrConfig, c.Scenario)
		}
	}
	if len(c.Keys) < need {
		return fmt.Errorf("%w: %s against a running gateway needs at least %d license keys with free seats (%d given)", ErrConfig, c.Scenario, need, len(c.Keys))
	}
	switch c.Scenario {
	case Validate, Handshake, IdleMemory, Flood:
		if c.Licenses == 0 || c.Licenses > len(c.Keys) {
			c.Licenses = len(c.Keys)
		}
	case Mixed:
		if c.Licenses == 0 || c.Licenses >= len(c.Keys) {
			c.Licenses = len(c.Keys) / 2
		}
	}
	return nil
}
