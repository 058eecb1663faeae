package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/pgtest"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/storetest"
)

// logBuffer keeps what a backend logs.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// noSecret fails the test when the error or the log names the password or
// quotes the connection string.
func noSecret(t *testing.T, err error, log *logBuffer, pw string) {
	t.Helper()
	for what, s := range map[string]string{"error": fmt.Sprint(err), "log": log.String()} {
		if strings.Contains(s, pw) || strings.Contains(s, "postgres://") {
			t.Errorf("the %s names the password or the connection string: %s", what, s)
		}
	}
}

// withPassword returns the connection string u with its database and
// password replaced.
func withPassword(t *testing.T, u, database, pw string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatalf("the test server's connection string is no URL: %v", err)
	}
	p.User = url.UserPassword(p.User.Username(), pw)
	if database != "" {
		p.Path = "/" + database
	}
	return p.String()
}

// TestOpenUnreachable: a server that cannot be reached is one error
// wrapping ErrUnavailable, naming the address tried and not the password.
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a loopback port nobody listens on
	const pw = "s3cret-unreachable-pw"
	var log logBuffer
	u := "postgres://tollgate:" + pw + "@" + addr + "/tollgate?sslmode=disable"
	_, err = Open(Config{URL: u, Logger: slog.New(slog.NewTextHandler(&log, nil)), Timeout: testTimeout(t)})
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Open of a closed port: %v; want ErrUnavailable naming %s", err, addr)
	}
	t.Logf("refusal: %v", err)
	noSecret(t, err, &log, pw)
	_, _, err = Status(context.Background(), u)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Status of a closed port: %v; want ErrUnavailable", err)
	}
	noSecret(t, err, &log, pw)
}

// TestOpenWrongPassword: a refused login is ErrConfig telling to check the
// password, naming the user and the server but neither password.
func TestOpenWrongPassword(t *testing.T) {
	t.Parallel()
	server := pgtest.Server(t)
	db := strings.TrimPrefix(mustParse(t, pgtest.URL(t)).Path, "/")
	const wrong = "wrong-pw-of-the-test"
	var log logBuffer
	_, err := Open(Config{URL: withPassword(t, server, db, wrong), Logger: slog.New(slog.NewTextHandler(&log, nil)), Timeout: testTimeout(t)})
	user := mustParse(t, server).User.Username()
	if !errors.Is(err, store.ErrConfig) || !strings.Contains(err.Error(), "check the password") || !strings.Contains(err.Error(), user) {
		t.Fatalf("Open with a wrong password: %v; want ErrConfig naming user %s and the password to check", err, user)
	}
	t.Logf("refusal: %v", err)
	noSecret(t, err, &log, wrong)
	if real, ok := mustParse(t, server).User.Password(); ok {
		noSecret(t, err, &log, real)
	}
}

func mustParse(t *testing.T, u string) *url.URL {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatalf("a test connection string is no URL: %v", err)
	}
	return p
}

// TestSchemaVersions: an empty database is refused without migration
// (ErrConfig, saying to migrate) and left empty; Migrate run twice at once
// brings it to the latest version once; a schema newer than this gateway
// knows is refused, with or without migration, naming both versions.
func TestSchemaVersions(t *testing.T) {
	t.Parallel()
	u := pgtest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitBound(t))
	defer cancel()
	_, err := Open(Config{URL: u, Timeout: testTimeout(t)})
	if !errors.Is(err, store.ErrConfig) || !strings.Contains(err.Error(), "tollgate migrate") {
		t.Fatalf("Open without migration of an empty database: %v; want ErrConfig saying to migrate", err)
	}
	t.Logf("refusal: %v", err)
	if cur, last, err := Status(ctx, u); err != nil || cur != 0 || last != latest() {
		t.Fatalf("Status of an empty database = %d, %d, %v; want 0 and %d", cur, last, err, latest())
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if from, to, err := Migrate(ctx, u); err != nil || to != latest() || (from != 0 && from != latest()) {
				t.Errorf("Migrate = %d, %d, %v; want from 0 (or, second, %d) to %d", from, to, err, latest(), latest())
			}
		}()
	}
	wg.Wait()
	if cur, _, err := Status(ctx, u); err != nil || cur != latest() {
		t.Fatalf("Status after Migrate = %d, %v; want %d", cur, err, latest())
	}
	b, err := Open(Config{URL: u, MaxConns: testConns, Timeout: testTimeout(t)})
	if err != nil {
		t.Fatalf("Open without migration of a migrated database: %v", err)
	}
	if _, err := b.pool.Exec(ctx, `UPDATE tollgate_schema SET version = $1`, latest()+1); err != nil {
		t.Fatal(err)
	}
	b.Close()
	for _, migrate := range []bool{false, true} {
		_, err := Open(Config{URL: u, Migrate: migrate, MaxConns: testConns, Timeout: testTimeout(t)})
		if !errors.Is(err, store.ErrConfig) || !strings.Contains(err.Error(), "upgrade the gateway") ||
			!strings.Contains(err.Error(), fmt.Sprintf("version %d", latest()+1)) || !strings.Contains(err.Error(), fmt.Sprintf("the %d", latest())) {
			t.Fatalf("Open (migrate %v) of a newer schema: %v; want ErrConfig naming versions %d and %d", migrate, err, latest()+1, latest())
		}
		t.Logf("refusal: %v", err)
	}
	if _, _, err := Migrate(ctx, u); !errors.Is(err, store.ErrConfig) {
		t.Fatalf("Migrate of a newer schema: %v, want ErrConfig", err)
	}
	if cur, _, err := Status(ctx, u); err != nil || cur != latest()+1 {
		t.Fatalf("Status of the newer schema = %d, %v; want it left at %d", cur, err, latest()+1)
	}
}

// TestClosed: after Close every method is ErrClosed, Close again is fine,
// and the backend's connections, the listener's included, are gone from
// the server.
func TestClosed(t *testing.T) {
	t.Parallel()
	a, b := twoBackends(t)
	b.Watch(func(store.Change) {})
	l := storetest.NewLicense(t, 1)
	if err := b.CreateLicenses([]store.License{l}, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close again: %v", err)
	}
	noop := func(*store.Tx) error { return nil }
	for name, call := range map[string]func() error{
		"LicenseByID":     func() error { _, err := b.LicenseByID(l.ID); return err },
		"LicenseByKey":    func() error { _, err := b.LicenseByKeyHash(l.KeyHash); return err },
		"Activation":      func() error { _, err := b.Activation(l.ID, storetest.Install(1)); return err },
		"Activations":     func() error { _, err := b.Activations(l.ID); return err },
		"Update":          func() error { return b.Update(l.ID, nil, noop) },
		"CreateLicenses":  func() error { return b.CreateLicenses([]store.License{storetest.NewLicense(t, 1)}, nil) },
		"WriteSeen":       func() error { return b.WriteSeen([]store.Seen{{License: l.ID}}) },
		"Licenses":        func() error { _, _, err := b.Licenses(store.LicenseQuery{}); return err },
		"MintOrder":       func() error { _, _, err := b.MintOrder(store.Order{Shop: "s", ID: "o", Count: 1}, 0, nil); return err },
		"OrderByID":       func() error { _, err := b.OrderByID("s", "o"); return err },
		"MintedToday":     func() error { _, err := b.MintedToday("s"); return err },
		"AddShop":         func() error { return b.AddShop(storetest.Shop("x", 0)) },
		"DeleteShop":      func() error { return b.DeleteShop("x") },
		"Shops":           func() error { _, err := b.Shops(); return err },
		"AddProduct":      func() error { return b.AddProduct(store.Product{Code: "1AJS2", Name: "x"}) },
		"Products":        func() error { _, err := b.Products(); return err },
		"Sightings":       func() error { _, err := b.Sightings(l.ID); return err },
		"FlaggedLicenses": func() error { _, err := b.FlaggedLicenses(0); return err },
		"Audit":           func() error { return b.Audit(store.AuditEntry{Kind: "x"}) },
		"AuditLog":        func() error { _, err := b.AuditLog(0); return err },
		"VerifyAudit":     func() error { _, err := b.VerifyAudit(); return err },
	} {
		if err := call(); !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if st := b.Stats(); st.Bytes != 0 || len(st.Extra) != 0 {
		t.Errorf("Stats after Close = %+v, want zero", st)
	}
	// Only a's connections are left on the database.
	ctx, cancel := context.WithTimeout(context.Background(), waitBound(t))
	defer cancel()
	for {
		var n int32
		conn, err := a.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()`).Scan(&n)
		total := a.pool.Stat().TotalConns()
		conn.Release()
		if err != nil {
			t.Fatal(err)
		}
		if n <= total {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d sessions on the database, a has %d: b left some", n, total)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTimeoutUnavailable: an operation that waits past Config.Timeout (for
// a row another session holds) fails with ErrUnavailable, writing nothing,
// and succeeds once the row is free.
func TestTimeoutUnavailable(t *testing.T) {
	t.Parallel()
	a, b := twoBackends(t)
	l := storetest.NewLicense(t, 1)
	if err := a.CreateLicenses([]store.License{l}, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitBound(t))
	defer cancel()
	tx, err := a.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM tollgate_licenses WHERE id = $1 FOR UPDATE`, l.ID[:]); err != nil {
		t.Fatal(err)
	}
	b.cfg.Timeout = 200 * time.Millisecond
	suspend := func(tx *store.Tx) error { tx.License.State = store.StateSuspended; return nil }
	err = b.Update(l.ID, nil, suspend)
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("Update of a row held by another session past the timeout: %v; want ErrUnavailable", err)
	}
	t.Logf("refusal: %v", err)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	b.cfg.Timeout = testTimeout(t)
	if got, err := b.LicenseByID(l.ID); err != nil || got.State != store.StateActive {
		t.Fatalf("after the timed out update: %v, %v; want it active", got.State, err)
	}
	if err := b.Update(l.ID, nil, suspend); err != nil {
		t.Fatalf("Update once the row is free: %v", err)
	}
}

// TestDamagedRows: a license row whose record does not decode is
// ErrCorrupt to every read and to Update; a damaged sightings row is
// listed by FlaggedLicenses for the operator to clear, and an update that
// resets them clears it.
func TestDamagedRows(t *testing.T) {
	t.Parallel()
	b := open(t, pgtest.URL(t))
	ctx, cancel := context.WithTimeout(context.Background(), waitBound(t))
	defer cancel()
	l, m := storetest.NewLicense(t, 1), storetest.NewLicense(t, 1)
	if err := b.CreateLicenses([]store.License{l, m}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pool.Exec(ctx, `UPDATE tollgate_licenses SET record = $2 WHERE id = $1`, l.ID[:], []byte(`{"v":1,"seats":1,"extra":true}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.LicenseByID(l.ID); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("LicenseByID of a damaged row: %v, want ErrCorrupt", err)
	}
	if _, _, err := b.Licenses(store.LicenseQuery{}); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Licenses over a damaged row: %v, want ErrCorrupt", err)
	}
	if err := b.Update(l.ID, nil, func(*store.Tx) error { return nil }); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Update of a damaged row: %v, want ErrCorrupt", err)
	}
	if _, err := b.pool.Exec(ctx, `INSERT INTO tollgate_sightings (license, flagged_at, reason, list) VALUES ($1, 0, '', $2)`, m.ID[:], []byte{1, 9}); err != nil {
		t.Fatal(err)
	}
	fl, err := b.FlaggedLicenses(0)
	if err != nil || len(fl) != 1 || fl[0].License.ID != m.ID || !strings.Contains(fl[0].Sightings.Reason, "damaged") {
		t.Fatalf("FlaggedLicenses with a damaged sightings row = %+v, %v", fl, err)
	}
	if _, err := b.Sightings(m.ID); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Sightings of a damaged row: %v, want ErrCorrupt", err)
	}
	if err := b.Update(m.ID, nil, func(tx *store.Tx) error { tx.ResetSightings(); return nil }); err != nil {
		t.Fatal(err)
	}
	if fl, err := b.FlaggedLicenses(0); err != nil || len(fl) != 0 {
		t.Fatalf("FlaggedLicenses after the reset = %+v, %v", fl, err)
	}
}
