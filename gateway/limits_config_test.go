package gateway

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestLimitsConfigSpellings: a config file gives limits in snake_case with
// durations as "30s"; the Go field names of earlier versions (nanoseconds)
// still work, with a warning naming the new spelling; mixing both for one
// field, a number for a duration, an unknown field or a negative value is
// refused and changes nothing.
func TestLimitsConfigSpellings(t *testing.T) {
	t.Parallel()
	var c Config
	if err := ParseConfig([]byte(`{"limits":{"idle_timeout":"30s","frame_timeout":"2s","session_idle_timeout":"10m","handshake_timeout":"1.5s","max_streams_per_conn":8,"max_frame_size":65536,"max_messages":1000}}`), &c); err != nil {
		t.Fatal(err)
	}
	l := c.Limits
	if l.IdleTimeout != 30*time.Second || l.FrameTimeout != 2*time.Second || l.SessionIdleTimeout != 10*time.Minute ||
		l.HandshakeTimeout != 1500*time.Millisecond || l.MaxStreamsPerConn != 8 || l.MaxFrameSize != 65536 || l.MaxMessages != 1000 || len(c.warnings) != 0 {
		t.Fatalf("new spelling: %+v, warnings %v", l, c.warnings)
	}

	var old Config
	if err := ParseConfig([]byte(`{"limits":{"IdleTimeout":30000000000,"MaxStreamsPerConn":8}}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.Limits.IdleTimeout != 30*time.Second || old.Limits.MaxStreamsPerConn != 8 || len(old.warnings) != 2 ||
		!strings.Contains(strings.Join(old.warnings, " "), `"idle_timeout"`) {
		t.Fatalf("old spelling: %+v, warnings %v", old.Limits, old.warnings)
	}

	for name, raw := range map[string]string{
		"both spellings":      `{"limits":{"idle_timeout":"30s","IdleTimeout":30000000000}}`,
		"number for duration": `{"limits":{"idle_timeout":30}}`,
		"bad duration":        `{"limits":{"idle_timeout":"30 parsecs"}}`,
		"unknown field":       `{"limits":{"idle_timeot":"30s"}}`,
		"negative":            `{"limits":{"frame_timeout":"-5s"}}`,
		"unknown top field":   `{"limits":{},"lisen":"127.0.0.1:1"}`,
	} {
		c := Config{Listen: "127.0.0.1:1"}
		err := ParseConfig([]byte(raw), &c)
		if !errors.Is(err, ErrConfig) || c.Listen != "127.0.0.1:1" || c.Limits.IdleTimeout != 0 || c.Limits.FrameTimeout != 0 {
			t.Errorf("%s: %v, config %+v", name, err, c)
		}
	}
}

// TestDurationConfigSpellings: default_lease and key_guess_refill are
// durations ("168h", "30s"); the whole-second fields of earlier versions
// still work, with a warning naming the new one; both spellings at once,
// a number for a duration, a fraction of a second or a negative value is
// refused and changes nothing.
func TestDurationConfigSpellings(t *testing.T) {
	t.Parallel()
	var c Config
	if err := ParseConfig([]byte(`{"default_lease":"48h","key_guess_refill":"1m","store_timeout":"20s"}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.DefaultLease != 48*time.Hour || c.KeyGuessRefill != time.Minute || c.StoreTimeout != 20*time.Second || len(c.warnings) != 0 {
		t.Fatalf("new spelling: lease %v, refill %v, store timeout %v, warnings %v", c.DefaultLease, c.KeyGuessRefill, c.StoreTimeout, c.warnings)
	}
	var old Config
	if err := ParseConfig([]byte(`{"default_lease_seconds":86400,"key_guess_refill_seconds":30}`), &old); err != nil {
		t.Fatal(err)
	}
	w := strings.Join(old.warnings, " ")
	if old.DefaultLease != 24*time.Hour || old.KeyGuessRefill != 30*time.Second || len(old.warnings) != 2 ||
		!strings.Contains(w, `"default_lease"`) || !strings.Contains(w, `"key_guess_refill"`) {
		t.Fatalf("old spelling: lease %v, refill %v, warnings %v", old.DefaultLease, old.KeyGuessRefill, old.warnings)
	}
	for name, raw := range map[string]string{
		"both spellings":      `{"default_lease":"24h","default_lease_seconds":86400}`,
		"number for duration": `{"key_guess_refill":30}`,
		"fraction":            `{"default_lease":"1.5s"}`,
		"negative":            `{"key_guess_refill":"-1s"}`,
		"old negative":        `{"default_lease_seconds":-1}`,
		"store timeout":       `{"store_timeout":"2h"}`,
	} {
		c := Config{Listen: "127.0.0.1:1"}
		err := ParseConfig([]byte(raw), &c)
		if !errors.Is(err, ErrConfig) || c.Listen != "127.0.0.1:1" || c.DefaultLease != 0 || c.KeyGuessRefill != 0 {
			t.Errorf("%s: %v, lease %v, refill %v", name, err, c.DefaultLease, c.KeyGuessRefill)
		}
	}
}
