package pgstore

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/storetest"
)

// waitBound is how long a test waits for something that must come: what
// only a hang reaches.
func waitBound(t *testing.T) time.Duration {
	if d, ok := t.Deadline(); ok {
		return time.Until(d) / 2
	}
	return 5 * time.Minute
}

// changes collects what a Watch reports.
type changes chan store.Change

func (c changes) fn(ch store.Change) {
	select {
	case c <- ch:
	default:
		panic("the test's change buffer is full")
	}
}

// next returns the next change reported other than ones skip accepts,
// failing the test when none comes in time.
func (c changes) next(t *testing.T, skip func(store.Change) bool) store.Change {
	t.Helper()
	deadline := time.After(waitBound(t))
	for {
		select {
		case ch := <-c:
			if skip != nil && skip(ch) {
				continue
			}
			return ch
		case <-deadline:
			t.Fatal("no change reported")
		}
	}
}

// TestWatchReportsOtherBackend: a license update, shop changes and
// product changes through one backend are reported to the other's Watch.
func TestWatchReportsOtherBackend(t *testing.T) {
	t.Parallel()
	a, b := twoBackends(t)
	got := make(changes, 100)
	b.Watch(got.fn)
	l := storetest.NewLicense(t, 1)
	if err := a.CreateLicenses([]store.License{l}, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Update(l.ID, nil, storetest.Activate(storetest.Install(1), 1)); err != nil {
		t.Fatal(err)
	}
	if c := got.next(t, nil); c.Kind != store.ChangeLicense || c.License != l.ID {
		t.Fatalf("after an update through a: %+v, want ChangeLicense of %x", c, l.ID[:4])
	}
	sh := storetest.Shop("acme", 0)
	if err := a.AddShop(sh); err != nil {
		t.Fatal(err)
	}
	if c := got.next(t, nil); c.Kind != store.ChangeShops {
		t.Fatalf("after a shop added through a: %+v, want ChangeShops", c)
	}
	sh.Networks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	if err := a.UpdateShop(sh); err != nil {
		t.Fatal(err)
	}
	if c := got.next(t, nil); c.Kind != store.ChangeShops {
		t.Fatalf("after a shop changed through a: %+v, want ChangeShops", c)
	}
	if err := a.DeleteShop("acme"); err != nil {
		t.Fatal(err)
	}
	if c := got.next(t, nil); c.Kind != store.ChangeShops {
		t.Fatalf("after a shop deleted through a: %+v, want ChangeShops", c)
	}
	p := store.Product{Code: "1AJS2", Name: "Scanner"}
	if err := a.AddProduct(p); err != nil {
		t.Fatal(err)
	}
	if c := got.next(t, nil); c.Kind != store.ChangeProducts {
		t.Fatalf("after a product added through a: %+v, want ChangeProducts", c)
	}
	p.Name = "Scanner 2"
	if err := a.UpdateProduct(p); err != nil {
		t.Fatal(err)
	}
	if c := got.next(t, nil); c.Kind != store.ChangeProducts {
		t.Fatalf("after a product changed through a: %+v, want ChangeProducts", c)
	}
	// A refused change reports nothing: the next report is the next
	// change.
	if err := a.Update(l.ID, nil, func(*store.Tx) error { return errors.New("refused") }); err == nil {
		t.Fatal("a failing update succeeded")
	}
	if err := a.AddProduct(p); !errors.Is(err, store.ErrExists) {
		t.Fatalf("AddProduct again: %v", err)
	}
	l2 := storetest.NewLicense(t, 1)
	if err := a.CreateLicenses([]store.License{l2}, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Update(l2.ID, nil, func(tx *store.Tx) error { tx.License.State = store.StateSuspended; return nil }); err != nil {
		t.Fatal(err)
	}
	if c := got.next(t, nil); c.Kind != store.ChangeLicense || c.License != l2.ID {
		t.Fatalf("after refused changes and an update: %+v, want ChangeLicense of %x", c, l2.ID[:4])
	}
}

// listenerPID returns the server process of b's listening connection.
func listenerPID(t *testing.T, a *Backend) uint32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitBound(t))
	defer cancel()
	var pid uint32
	err := a.pool.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = $1 AND pid <> pg_backend_pid()`,
		"LISTEN "+channel).Scan(&pid)
	if err != nil {
		t.Fatalf("find the listening connection: %v", err)
	}
	return pid
}

// TestWatchReconnects: the listening connection terminated by the server
// reports ChangeUntrusted, then ChangeResync once it listens again, and
// changes are reported again.
func TestWatchReconnects(t *testing.T) {
	t.Parallel()
	a, b := twoBackends(t)
	got := make(changes, 100)
	b.Watch(got.fn)
	pid := listenerPID(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), waitBound(t))
	defer cancel()
	var killed bool
	if err := a.pool.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, killed, err)
	}
	if c := got.next(t, nil); c.Kind != store.ChangeUntrusted {
		t.Fatalf("after the listener was terminated: %+v, want ChangeUntrusted", c)
	}
	if c := got.next(t, nil); c.Kind != store.ChangeResync {
		t.Fatalf("after ChangeUntrusted: %+v, want ChangeResync", c)
	}
	if again := listenerPID(t, a); again == pid {
		t.Fatalf("the listener is still process %d", pid)
	}
	if err := a.AddShop(storetest.Shop("acme", 0)); err != nil {
		t.Fatal(err)
	}
	if c := got.next(t, nil); c.Kind != store.ChangeShops {
		t.Fatalf("after reconnecting, a shop added: %+v, want ChangeShops", c)
	}
}

// TestWatchIdle: a listener that waits long without a notification (and
// pings the server meanwhile) still reports the next change, and never
// said it was untrusted.
func TestWatchIdle(t *testing.T) {
	t.Parallel()
	a, b := twoBackends(t)
	b.watch.idle = 10 * time.Millisecond
	got := make(changes, 100)
	b.Watch(got.fn)
	time.Sleep(200 * time.Millisecond) // some idle waits and pings: no assertion of time
	if err := a.AddShop(storetest.Shop("acme", 0)); err != nil {
		t.Fatal(err)
	}
	if c := got.next(t, nil); c.Kind != store.ChangeShops {
		t.Fatalf("after idling, a shop added: %+v, want ChangeShops", c)
	}
}

// TestStoresFollowEachOther: with a Store in front of each of two
// backends, a license suspended through one is seen suspended by the
// other's next Lookup once the notification came, and an activation freed
// through one is gone from the other's cache.
func TestStoresFollowEachOther(t *testing.T) {
	t.Parallel()
	a, b := twoBackends(t)
	sa, err := store.New(a, store.Options{WriteBehind: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	sb, err := store.New(b, store.Options{WriteBehind: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if !sa.Shared() {
		t.Fatal("a Store on pgstore is not Shared")
	}
	l := storetest.NewLicense(t, 2)
	if err := sa.CreateLicenses([]store.License{l}); err != nil {
		t.Fatal(err)
	}
	if err := sa.Update(l.ID, storetest.Activate(storetest.Install(1), 1)); err != nil {
		t.Fatal(err)
	}
	if e, err := sa.Lookup(l.ID, storetest.Install(1)); err != nil || e.License.State != store.StateActive {
		t.Fatalf("Lookup through a = %v; want it active (and cached)", err)
	}
	start := time.Now()
	if err := sb.Update(l.ID, func(tx *store.Tx) error { tx.License.State = store.StateSuspended; return nil }); err != nil {
		t.Fatal(err)
	}
	bound := time.Now().Add(waitBound(t))
	for {
		e, err := sa.Lookup(l.ID, storetest.Install(1))
		if err != nil {
			t.Fatal(err)
		}
		if e.License.State == store.StateSuspended {
			break
		}
		if time.Now().After(bound) {
			t.Fatal("a's Store never saw the suspension made through b")
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("a's Store saw b's change %v after b's Update began", time.Since(start))
	if err := sb.Update(l.ID, func(tx *store.Tx) error { tx.DeleteActivation(storetest.Install(1)); return nil }); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := sa.Lookup(l.ID, storetest.Install(1))
		if errors.Is(err, store.ErrNotActivated) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(bound) {
			t.Fatal("a's Store kept an activation deleted through b")
		}
		time.Sleep(time.Millisecond)
	}
}
