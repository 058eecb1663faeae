package gateway

import (
	"errors"
	"io"
	"log/slog"
	"testing"
)

// FuzzParseConfig: a config file either parses into a config the gateway
// accepts, or is refused with ErrConfig and leaves the config unchanged.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"listen":"127.0.0.1:7443","cache_entries":4096,"log_format":"json","limits":{"MaxFrameSize":65536}}`))
	f.Add([]byte(`{"listen":"nowhere"}`))
	f.Add([]byte(`{"cache_entries":-1}`))
	f.Add([]byte(`{"limits":{"IdleTimeout":-5}}`))
	f.Add([]byte(`{"limits":{"idle_timeout":"30s","max_streams_per_conn":8}}`))
	f.Add([]byte(`{"limits":{"idle_timeout":"30s","IdleTimeout":5}}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`{"lisen":"127.0.0.1:1"}`))
	f.Add([]byte(`{"lease_batch":1}`))
	f.Add([]byte(`{"lease_batch":65}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := Config{Listen: "127.0.0.1:1", CacheEntries: 7}
		err := ParseConfig(raw, &c)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("ParseConfig error %v does not wrap ErrConfig", err)
			}
			if c.Listen != "127.0.0.1:1" || c.CacheEntries != 7 {
				t.Fatalf("a refused config changed the config: %+v", c)
			}
			return
		}
		c.Dir = t.TempDir()
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if err := c.setDefaults(); err != nil {
			t.Fatalf("config accepted by ParseConfig refused at start-up: %v", err)
		}
	})
}
