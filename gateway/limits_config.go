package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/tollgate/tollgate/internal/channel"
)

// UnmarshalJSON reads a config file's object strictly (unknown fields
// are errors), its durations as Go durations ("30s", "168h"; the old
// whole-second fields are still read, with a warning naming the new one),
// and its "limits" in the file's spelling (limitsFile).
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config // the fields, without this method
	var aux struct {
		*plain
		Limits json.RawMessage `json:"limits"`

		DefaultLease      *duration `json:"default_lease"`
		KeyGuessRefill    *duration `json:"key_guess_refill"`
		StoreTimeout      *duration `json:"store_timeout"`
		OldDefaultLease   *int64    `json:"default_lease_seconds"`
		OldKeyGuessRefill *int64    `json:"key_guess_refill_seconds"`
	}
	aux.plain = (*plain)(c)
	if err := strictDecode(b, &aux); err != nil {
		return err
	}
	if aux.StoreTimeout != nil {
		c.StoreTimeout = time.Duration(*aux.StoreTimeout)
	}
	for _, f := range []struct {
		dst       *time.Duration
		v         *duration
		old       *int64
		name, was string
	}{
		{&c.DefaultLease, aux.DefaultLease, aux.OldDefaultLease, "default_lease", "default_lease_seconds"},
		{&c.KeyGuessRefill, aux.KeyGuessRefill, aux.OldKeyGuessRefill, "key_guess_refill", "key_guess_refill_seconds"},
	} {
		switch {
		case f.v != nil && f.old != nil:
			return fmt.Errorf("%s and %s are the same setting; give one", f.name, f.was)
		case f.v != nil:
			*f.dst = time.Duration(*f.v)
		case f.old != nil:
			if *f.old < 0 || *f.old > 1<<32 {
				return fmt.Errorf("%s %d is out of range", f.was, *f.old)
			}
			*f.dst = time.Duration(*f.old) * time.Second
			c.warnings = append(c.warnings, fmt.Sprintf("config: %q is the old spelling; write %q as a duration (\"%v\")", f.was, f.name, *f.dst))
		}
	}
	if len(aux.Limits) == 0 || string(aux.Limits) == "null" {
		return nil
	}
	var lf limitsFile
	if err := strictDecode(aux.Limits, &lf); err != nil {
		return fmt.Errorf("limits: %w", err)
	}
	old, err := lf.apply(&c.Limits)
	if err != nil {
		return err
	}
	for _, name := range old {
		c.warnings = append(c.warnings, fmt.Sprintf("config: limits field %q is the old spelling; write %q (durations as \"60s\")", name, limitNames[name]))
	}
	return nil
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("unexpected data after the object")
	}
	return nil
}

// limitsFile is how a config file spells channel.Limits: snake_case names,
// durations as Go durations ("60s", "1m30s"). The Go field names of
// earlier versions, durations in nanoseconds, are still read, with a
// warning in the log naming the new spelling.
type limitsFile struct {
	HandshakeTimeout   *duration `json:"handshake_timeout"`
	IdleTimeout        *duration `json:"idle_timeout"`
	FrameTimeout       *duration `json:"frame_timeout"`
	SessionIdleTimeout *duration `json:"session_idle_timeout"`
	MaxStreamsPerConn  *int      `json:"max_streams_per_conn"`
	MaxFrameSize       *int      `json:"max_frame_size"`
	MaxMessages        *uint64   `json:"max_messages"`

	OldHandshakeTimeout   *time.Duration `json:"HandshakeTimeout"`
	OldIdleTimeout        *time.Duration `json:"IdleTimeout"`
	OldFrameTimeout       *time.Duration `json:"FrameTimeout"`
	OldSessionIdleTimeout *time.Duration `json:"SessionIdleTimeout"`
	OldMaxStreamsPerConn  *int           `json:"MaxStreamsPerConn"`
	OldMaxFrameSize       *int           `json:"MaxFrameSize"`
	OldMaxMessages        *uint64        `json:"MaxMessages"`
}

// limitNames maps each old spelling to the new one.
var limitNames = map[string]string{
	"HandshakeTimeout": "handshake_timeout", "IdleTimeout": "idle_timeout",
	"FrameTimeout": "frame_timeout", "SessionIdleTimeout": "session_idle_timeout",
	"MaxStreamsPerConn": "max_streams_per_conn", "MaxFrameSize": "max_frame_size", "MaxMessages": "max_messages",
}

// apply sets the fields the file gives in l, and returns the old names it
// used. A field given in both spellings is an error.
func (f *limitsFile) apply(l *channel.Limits) (old []string, err error) {
	dur := func(dst *time.Duration, v *duration, o *time.Duration, oldName string) {
		switch {
		case v != nil && o != nil:
			err = fmt.Errorf("limits: %s and %s are the same field; give one", limitNames[oldName], oldName)
		case v != nil:
			*dst = time.Duration(*v)
		case o != nil:
			*dst, old = *o, append(old, oldName)
		}
	}
	dur(&l.HandshakeTimeout, f.HandshakeTimeout, f.OldHandshakeTimeout, "HandshakeTimeout")
	dur(&l.IdleTimeout, f.IdleTimeout, f.OldIdleTimeout, "IdleTimeout")
	dur(&l.FrameTimeout, f.FrameTimeout, f.OldFrameTimeout, "FrameTimeout")
	dur(&l.SessionIdleTimeout, f.SessionIdleTimeout, f.OldSessionIdleTimeout, "SessionIdleTimeout")
	count(&l.MaxStreamsPerConn, f.MaxStreamsPerConn, f.OldMaxStreamsPerConn, "MaxStreamsPerConn", &old, &err)
	count(&l.MaxFrameSize, f.MaxFrameSize, f.OldMaxFrameSize, "MaxFrameSize", &old, &err)
	count(&l.MaxMessages, f.MaxMessages, f.OldMaxMessages, "MaxMessages", &old, &err)
	return old, err
}

func count[T int | uint64](dst *T, v, o *T, oldName string, old *[]string, err *error) {
	switch {
	case v != nil && o != nil:
		*err = fmt.Errorf("limits: %s and %s are the same field; give one", limitNames[oldName], oldName)
	case v != nil:
		*dst = *v
	case o != nil:
		*dst, *old = *o, append(*old, oldName)
	}
}

// duration is a time.Duration written as a Go duration string.
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"60s\" or \"1m30s\", not %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = duration(v)
	return nil
}
