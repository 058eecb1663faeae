package pgstore

import (
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/pgtest"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/storetest"
)

// testConns is the pool size of the tests' backends: small, for two test
// runs may share a server of 100 connections.
const testConns = 3

// testTimeout is the bound of one operation in tests: what only a hang
// reaches, on a loaded machine, where hundreds of concurrent Updates of one
// license queue for its row.
func testTimeout(t testing.TB) time.Duration {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }).Deadline(); ok {
		if left := time.Until(d) / 2; left > time.Minute {
			return left
		}
	}
	return 10 * time.Minute
}

// open opens a backend on url, migrating, closed when the test ends.
func open(t testing.TB, url string) *Backend {
	t.Helper()
	b, err := Open(Config{URL: url, Migrate: true, MaxConns: testConns, Timeout: testTimeout(t), Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// testLogger returns a logger writing to the test's log.
func testLogger(t testing.TB) *slog.Logger { return slog.New(slog.NewTextHandler(testWriter{t}, nil)) }

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// TestConformance runs the backend contract's suite on PostgreSQL, each
// case in a database of its own.
func TestConformance(t *testing.T) {
	t.Parallel()
	pgtest.Server(t)
	storetest.Run(t, func(t *testing.T) store.Backend { return open(t, pgtest.URL(t)) })
}

// TestStats: the database's size and the pool's figures, each named
// store_pg_*.
func TestStats(t *testing.T) {
	t.Parallel()
	b := open(t, pgtest.URL(t))
	st := b.Stats()
	if st.Bytes == 0 || len(st.Extra) == 0 {
		t.Fatalf("Stats = %+v; want a size and figures", st)
	}
	names := map[string]bool{}
	for _, s := range st.Extra {
		if !strings.HasPrefix(s.Name, "store_pg_") || s.Help == "" || names[s.Name] {
			t.Errorf("figure %+v: want a unique store_pg_ name and a help", s)
		}
		names[s.Name] = true
		if s.Name == "store_pg_conns_max" && s.Value != testConns {
			t.Errorf("store_pg_conns_max = %d, want %d", s.Value, testConns)
		}
	}
}

// TestCounterFullRange: a counter anywhere in uint64, above 2^63 too (a
// client's), is kept exactly and never goes back: written by an update or
// behind.
func TestCounterFullRange(t *testing.T) {
	t.Parallel()
	b := open(t, pgtest.URL(t))
	l := storetest.NewLicense(t, 1)
	if err := b.CreateLicenses([]store.License{l}, nil); err != nil {
		t.Fatal(err)
	}
	in := storetest.Install(1)
	if err := b.Update(l.ID, nil, storetest.Activate(in, 1)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ write, want uint64 }{
		{7, 7},
		{1<<63 + 5, 1<<63 + 5},
		{1 << 62, 1<<63 + 5},
		{math.MaxUint64, math.MaxUint64},
		{0, math.MaxUint64},
	} {
		if err := b.WriteSeen([]store.Seen{{License: l.ID, Install: in, LastSeen: 1, Counter: c.write}}); err != nil {
			t.Fatal(err)
		}
		if a, err := b.Activation(l.ID, in); err != nil || a.Counter != c.want {
			t.Fatalf("after writing %d: counter %d, %v; want %d", c.write, a.Counter, err, c.want)
		}
	}
	err := b.Update(l.ID, nil, func(tx *store.Tx) error {
		a, _ := tx.Activation(in)
		a.Counter = 1 << 63
		tx.PutActivation(a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := b.Activation(l.ID, in); err != nil || a.Counter != math.MaxUint64 {
		t.Fatalf("after an update putting a lower counter: %d, %v; want it kept at the highest", a.Counter, err)
	}
}
