package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
)

// Config configures a gateway.
type Config struct {
	// Dir is the data directory made by Init. Required.
	Dir string `json:"-"`
	// Listen is the UDP address QUIC listens on. Zero means 127.0.0.1:7443.
	Listen string `json:"listen"`
	// Store is the connection string of a store shared by several
	// gateways (postgres://...). Empty means the data directory's choice:
	// TOLLGATE_STORE, else the file Init --store wrote, else the embedded
	// Pebble store (StoreURL). It may hold a password, which no log line or
	// error repeats.
	Store string `json:"store"`
	// StoreTimeout bounds one operation on a shared store, waiting for a
	// pooled connection and retries included, after which the request is
	// answered SERVER_ERROR ("try again later"). Zero means 5 s (a mint
	// gets as much again per thousand keys). A config file spells it
	// "store_timeout": "5s".
	StoreTimeout time.Duration `json:"-"`
	// Limits bound frames, handshakes, idle connections, streams and nonces.
	// Zero fields take channel.Limits' defaults. A config file spells them
	// in snake_case with durations as "60s" (limitsFile).
	Limits channel.Limits `json:"-"`
	// CacheEntries bounds the hot cache, in activations. Zero means 1<<20.
	CacheEntries int64 `json:"cache_entries"`
	// LogFormat is "text" (the zero value) or "json".
	LogFormat string `json:"log_format"`
	// DefaultLease is the lease lifetime of licenses whose policy sets
	// none, whole seconds. Zero means 7 days. A config file spells it
	// "default_lease": "168h" (durationsFile).
	DefaultLease time.Duration `json:"-"`

	// KeyGuessBurst is how many unknown or malformed keys one source
	// address (an IPv6 /64) may try at once before its activations are
	// answered RATE_LIMITED. Zero means 20.
	KeyGuessBurst int `json:"key_guess_burst"`
	// KeyGuessRefill is how often such an address earns one more try.
	// Zero means 30 s. A config file spells it "key_guess_refill": "30s".
	KeyGuessRefill time.Duration `json:"-"`

	// A license is flagged for the operator when, within FlagWindowDays,
	// it is activated from more than FlagMachinesPerSeat machines (install
	// keys) or FlagNetworksPerSeat networks (IPv4 /24, IPv6 /48) per seat:
	// a key shared among people (DESIGN.md). Flagging refuses nothing;
	// `tollgate license flagged` lists the flagged licenses. Zero means 3, 4
	// and 30; a negative FlagWindowDays turns flagging off.
	FlagMachinesPerSeat int `json:"flag_machines_per_seat"`
	FlagNetworksPerSeat int `json:"flag_networks_per_seat"`
	FlagWindowDays      int `json:"flag_window_days"`

	// ExpiringDays is how many days before a shop's license ends its
	// shop's event stream gets an expiring event (once per license and
	// end), looked for when the gateway starts and daily. Zero means 14;
	// negative turns it off; at most 365.
	ExpiringDays int `json:"expiring_days"`

	// SelfServiceResets is how many times in 30 days a customer may free a
	// seat of one license through the shop that sold it (a shop's
	// SeatReset). Zero means 3; negative turns self-service resets off; at
	// most 100.
	SelfServiceResets int `json:"self_service_resets"`

	// LeaseBatch is the most leases the gateway signs with one signature
	// when activations and renewals arrive faster than it signs them one
	// by one (service.Config.LeaseBatch): those that queue behind a
	// signature under way are signed together, each with its Merkle proof
	// (wire.SignLeaseBatch). A lease that finds no signature under way is
	// signed alone, at once. 1 signs every lease alone, and so does zero,
	// the default: a batch-signed lease is refused by apps whose client
	// library is older than the batch form ("unsupported version"), so
	// batching is for a publisher whose apps all use a library that
	// verifies it. At most 64.
	LeaseBatch int `json:"lease_batch"`

	// MetricsListen is a TCP address to serve the gateway's counters on,
	// at /metrics in Prometheus's text format (for example
	// 127.0.0.1:9464). Empty means none. The page holds no secret but tells
	// of the traffic: keep it on loopback or a private network.
	MetricsListen string `json:"metrics_listen"`

	// Admission bounds handshakes in progress and connections, in total
	// and per address, and says when a new client must first answer a QUIC
	// Retry (admission.go). Zero fields take their defaults.
	Admission Admission `json:"admission"`

	// Now is the clock. Nil means time.Now.
	Now func() time.Time `json:"-"`
	// Logger receives the gateway's logs. Nil means a text (or JSON, per
	// LogFormat) logger on standard error.
	Logger *slog.Logger `json:"-"`

	warnings []string // what ParseConfig read in an old spelling; logged by New
}

func (c *Config) setDefaults() error {
	if c.Dir == "" {
		return fmt.Errorf("%w: no data directory", ErrConfig)
	}
	if err := c.validate(); err != nil {
		return err
	}
	if c.Listen == "" {
		c.Listen = DefaultAddress
	}
	if c.DefaultLease == 0 {
		c.DefaultLease = 7 * 24 * time.Hour
	}
	if c.KeyGuessBurst == 0 {
		c.KeyGuessBurst = 20
	}
	if c.KeyGuessRefill == 0 {
		c.KeyGuessRefill = 30 * time.Second
	}
	if c.FlagMachinesPerSeat == 0 {
		c.FlagMachinesPerSeat = 3
	}
	if c.FlagNetworksPerSeat == 0 {
		c.FlagNetworksPerSeat = 4
	}
	if c.FlagWindowDays == 0 {
		c.FlagWindowDays = 30
	}
	if c.ExpiringDays == 0 {
		c.ExpiringDays = 14
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = NewLogger(c.LogFormat, os.Stderr)
	}
	return nil
}

// NewLogger returns a slog logger writing text (format "" or "text") or JSON.
func NewLogger(format string, w *os.File) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// LoadConfigFile decodes a JSON config file into c (see ParseConfig).
func LoadConfigFile(path string, c *Config) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("gateway: config: %w", err)
	}
	if err := ParseConfig(raw, c); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ParseConfig decodes a JSON config into c, strictly: unknown fields (a
// typo), anything after the object, and values out of range are errors
// wrapping ErrConfig, and leave c unchanged.
func ParseConfig(raw []byte, c *Config) error {
	next := *c
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&next); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: unexpected data after the configuration object", ErrConfig)
	}
	if err := next.validate(); err != nil {
		return err
	}
	*c = next
	return nil
}

// validate checks the fields a config file may set.
func (c *Config) validate() error {
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("%w: listen address %q: %w", ErrConfig, c.Listen, err)
		}
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			return fmt.Errorf("%w: metrics_listen address %q: %w", ErrConfig, c.MetricsListen, err)
		}
	}
	if err := c.Limits.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := c.Admission.validate(); err != nil {
		return err
	}
	if c.KeyGuessBurst < 0 || c.KeyGuessRefill < 0 {
		return fmt.Errorf("%w: key_guess_burst and key_guess_refill may not be negative (0 means the default)", ErrConfig)
	}
	if c.StoreTimeout < 0 || c.StoreTimeout > time.Hour {
		return fmt.Errorf("%w: store_timeout %v is not between 0 and 1h (0 means 5s)", ErrConfig, c.StoreTimeout)
	}
	if c.DefaultLease < 0 || c.DefaultLease > 10*365*24*time.Hour || c.DefaultLease%time.Second != 0 {
		return fmt.Errorf("%w: default_lease %v must be whole seconds, up to ten years (0 means 7 days)", ErrConfig, c.DefaultLease)
	}
	if c.FlagMachinesPerSeat < 0 || c.FlagNetworksPerSeat < 0 || c.FlagMachinesPerSeat > 1000 || c.FlagNetworksPerSeat > 1000 {
		return fmt.Errorf("%w: flag_machines_per_seat and flag_networks_per_seat must be between 0 (the default) and 1000; a negative flag_window_days turns flagging off", ErrConfig)
	}
	if c.FlagWindowDays > 3650 {
		return fmt.Errorf("%w: flag_window_days %d is more than ten years", ErrConfig, c.FlagWindowDays)
	}
	if c.ExpiringDays > service.MaxExpiringDays {
		return fmt.Errorf("%w: expiring_days %d is more than %d (a negative value turns expiring events off)", ErrConfig, c.ExpiringDays, service.MaxExpiringDays)
	}
	if c.SelfServiceResets > service.MaxSelfServiceResets {
		return fmt.Errorf("%w: self_service_resets %d is more than %d (0 means 3; a negative value turns self-service resets off)", ErrConfig, c.SelfServiceResets, service.MaxSelfServiceResets)
	}
	if c.LeaseBatch < 0 || c.LeaseBatch > wire.MaxLeaseBatch {
		return fmt.Errorf("%w: lease_batch %d is not between 1 (each lease signed alone, the default) and %d", ErrConfig, c.LeaseBatch, wire.MaxLeaseBatch)
	}
	if c.CacheEntries < 0 {
		return fmt.Errorf("%w: cache_entries %d is negative (0 means the default)", ErrConfig, c.CacheEntries)
	}
	switch c.LogFormat {
	case "", "text", "json":
	default:
		return fmt.Errorf("%w: log format %q (use text or json)", ErrConfig, c.LogFormat)
	}
	return nil
}
