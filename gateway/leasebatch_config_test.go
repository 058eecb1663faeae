package gateway

import (
	"errors"
	"testing"
)

// TestLeaseBatchConfig checks the lease_batch setting: 0 to 64 accepted
// and passed on, anything else refused with the config unchanged.
func TestLeaseBatchConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw  string
		want int
	}{{`{"lease_batch":1}`, 1}, {`{"lease_batch":64}`, 64}, {`{"lease_batch":0}`, 0}, {`{}`, 0}} {
		var c Config
		if err := ParseConfig([]byte(tc.raw), &c); err != nil || c.LeaseBatch != tc.want {
			t.Errorf("%s: lease batch %d, %v; want %d", tc.raw, c.LeaseBatch, err, tc.want)
		}
	}
	for _, bad := range []string{`{"lease_batch":65}`, `{"lease_batch":-1}`, `{"lease_batch":"8"}`} {
		c := Config{LeaseBatch: 7}
		if err := ParseConfig([]byte(bad), &c); !errors.Is(err, ErrConfig) || c.LeaseBatch != 7 {
			t.Errorf("%s: %v, lease batch %d; want ErrConfig, unchanged", bad, err, c.LeaseBatch)
		}
	}
}
