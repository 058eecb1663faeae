package storetest

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
)

var eventCases = []testCase{
	{"EventsRecorded", testEventsRecorded},
	{"EventsNotWrittenByFailedUpdate", testEventsFailedUpdate},
	{"EventsShopsIndependent", testEventsShopsIndependent},
	{"EventsPaged", testEventsPaged},
	{"EventsNoGapsUnderConcurrency", testEventsConcurrent},
	{"EventsExpiringOnce", testEventsExpiringOnce},
}

// SoldLicense returns NewLicense(t, seats) sold by shop in order.
func SoldLicense(t testing.TB, seats uint32, shop, order string) store.License {
	t.Helper()
	l := NewLicense(t, seats)
	l.Shop, l.Order = shop, order
	return l
}

// events returns the whole stream of shop, or fails the test.
func events(t *testing.T, b store.Backend, shop string) []store.Event {
	t.Helper()
	var all []store.Event
	for range 100 {
		var after uint64
		if len(all) > 0 {
			after = all[len(all)-1].Seq
		}
		page, err := b.ShopEvents(shop, after, store.MaxEventsPage)
		if err != nil {
			t.Fatalf("ShopEvents(%q, %d): %v", shop, after, err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
	}
	t.Fatalf("ShopEvents(%q) did not end", shop)
	return nil
}

// checkSeqs fails the test unless evs are numbered 1..len(evs).
func checkSeqs(t *testing.T, evs []store.Event) {
	t.Helper()
	for i, e := range evs {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has Seq %d; want %d (stream %+v)", i, e.Seq, i+1, evs)
		}
	}
}

// record returns the function of an Update that records one event of kind
// k and suspends the license (a change to record).
func record(k store.EventKind) func(tx *store.Tx) error {
	return func(tx *store.Tx) error {
		tx.License.State = store.StateSuspended
		tx.Record(store.Event{Kind: k})
		return nil
	}
}

// testEventsRecorded: events recorded by Update are in their shop's stream
// with the license's shop, id, order and product, the change's time, and
// Seq from 1; several in one Update follow one another; a license no shop
// sold records none; the change and its audit entry land with them.
func testEventsRecorded(t *testing.T, b store.Backend) {
	l := SoldLicense(t, 2, "shop-a", "order-1")
	own := NewLicense(t, 1) // minted by the operator: no shop
	create(t, b, l, own)
	if evs, err := b.ShopEvents("shop-a", 0, 10); err != nil || len(evs) != 0 {
		t.Fatalf("ShopEvents of a new shop = %+v, %v; want none", evs, err)
	}
	err := b.Update(l.ID, nil, func(tx *store.Tx) error {
		if err := Activate(Install(1), 1)(tx); err != nil {
			return err
		}
		tx.Record(store.Event{Kind: store.EventActivated, Seat: 1, Seats: 2, Machine: "host-1"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(l.ID, nil, func(tx *store.Tx) error {
		tx.License.State = store.StateSuspended
		tx.Audit = &store.AuditEntry{Kind: "license.suspend"}
		tx.Record(store.Event{Kind: store.EventSuspended})
		tx.Record(store.Event{Kind: store.EventFlagged})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(own.ID, nil, record(store.EventSuspended)); err != nil {
		t.Fatal(err)
	}
	evs := events(t, b, "shop-a")
	checkSeqs(t, evs)
	want := []store.EventKind{store.EventActivated, store.EventSuspended, store.EventFlagged}
	if len(evs) != len(want) {
		t.Fatalf("stream = %+v; want %v", evs, want)
	}
	for i, e := range evs {
		if e.Kind != want[i] || e.Shop != "shop-a" || e.License != l.ID || e.Order != "order-1" || e.Product != l.Product || e.Time <= 0 {
			t.Fatalf("event %d = %+v; want %v of license %x, order-1, product %s, a time", i, e, want[i], l.ID, l.Product)
		}
	}
	if e := evs[0]; e.Seat != 1 || e.Seats != 2 || e.Machine != "host-1" {
		t.Fatalf("activated event = %+v; want seat 1 of 2 on host-1", e)
	}
	if got, err := b.LicenseByID(l.ID); err != nil || got.State != store.StateSuspended {
		t.Fatalf("license = %v, %v; want suspended with its events", got.State, err)
	}
	if es, err := b.AuditLog(0); err != nil || len(es) != 1 || es[0].Kind != "license.suspend" {
		t.Fatalf("audit log = %+v, %v; want the suspend entry with its events", es, err)
	}
}

// testEventsFailedUpdate: an Update that fails (its function's error, a
// change of identity, an event of no known kind) writes none of its
// events, and the stream goes on from where it was without a gap.
func testEventsFailedUpdate(t *testing.T, b store.Backend) {
	l := SoldLicense(t, 1, "shop-a", "o")
	create(t, b, l)
	refused := errors.New("refused")
	err := b.Update(l.ID, nil, func(tx *store.Tx) error {
		tx.Record(store.Event{Kind: store.EventRevoked})
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("Update = %v; want the refusal", err)
	}
	err = b.Update(l.ID, nil, func(tx *store.Tx) error {
		tx.Record(store.Event{Kind: store.EventRevoked})
		tx.License.ID[0] ^= 1
		return nil
	})
	if !errors.Is(err, store.ErrConfig) {
		t.Fatalf("Update changing the id = %v; want ErrConfig", err)
	}
	err = b.Update(l.ID, nil, func(tx *store.Tx) error {
		tx.License.State = store.StateRevoked
		tx.Record(store.Event{Kind: 0})
		return nil
	})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Update recording an event of kind 0 = %v; want ErrInvalid", err)
	}
	if got, err := b.LicenseByID(l.ID); err != nil || got.State != store.StateActive {
		t.Fatalf("license = %v, %v; want still active", got.State, err)
	}
	if evs := events(t, b, "shop-a"); len(evs) != 0 {
		t.Fatalf("stream after failed updates = %+v; want empty", evs)
	}
	if err := b.Update(l.ID, nil, record(store.EventSuspended)); err != nil {
		t.Fatal(err)
	}
	evs := events(t, b, "shop-a")
	checkSeqs(t, evs)
	if len(evs) != 1 || evs[0].Kind != store.EventSuspended {
		t.Fatalf("stream = %+v; want the one suspended event", evs)
	}
}

// testEventsShopsIndependent: two shops' streams are numbered each from
// 1, and neither holds the other's events.
func testEventsShopsIndependent(t *testing.T, b store.Backend) {
	la, lb := SoldLicense(t, 1, "shop-a", "a1"), SoldLicense(t, 1, "shop-b", "b1")
	create(t, b, la, lb)
	for i := range 3 {
		if err := b.Update(la.ID, nil, record(store.EventSuspended)); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if err := b.Update(lb.ID, nil, record(store.EventRevoked)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for shop, want := range map[string]struct {
		n   int
		lic store.LicenseID
	}{"shop-a": {3, la.ID}, "shop-b": {2, lb.ID}} {
		evs := events(t, b, shop)
		checkSeqs(t, evs)
		if len(evs) != want.n {
			t.Fatalf("stream of %s = %+v; want %d events", shop, evs, want.n)
		}
		for _, e := range evs {
			if e.Shop != shop || e.License != want.lic {
				t.Fatalf("stream of %s holds %+v", shop, e)
			}
		}
	}
	if evs := events(t, b, "shop-c"); len(evs) != 0 {
		t.Fatalf("stream of a shop that sold nothing = %+v", evs)
	}
}

// testEventsPaged: after and limit page through a stream, each event once
// and in order; a limit out of 1..MaxEventsPage or no shop is ErrInvalid.
func testEventsPaged(t *testing.T, b store.Backend) {
	l := SoldLicense(t, 1, "shop-a", "o")
	create(t, b, l)
	const n = 23
	for range n {
		if err := b.Update(l.ID, nil, record(store.EventRenewed)); err != nil {
			t.Fatal(err)
		}
	}
	var after uint64
	for page := 0; ; page++ {
		if page > n {
			t.Fatal("paging did not end")
		}
		evs, err := b.ShopEvents("shop-a", after, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		if wantLen := min(5, n-int(after)); len(evs) != wantLen {
			t.Fatalf("page after %d has %d events; want %d", after, len(evs), wantLen)
		}
		for i, e := range evs {
			if e.Seq != after+uint64(i)+1 {
				t.Fatalf("page after %d: event %d has Seq %d", after, i, e.Seq)
			}
		}
		after = evs[len(evs)-1].Seq
	}
	if after != n {
		t.Fatalf("paging ended after %d; want %d", after, n)
	}
	if evs, err := b.ShopEvents("shop-a", 20, 1); err != nil || len(evs) != 1 || evs[0].Seq != 21 {
		t.Fatalf("ShopEvents(after 20, limit 1) = %+v, %v; want event 21", evs, err)
	}
	for _, after := range []uint64{n, n + 1, math.MaxInt64, math.MaxUint64} {
		if evs, err := b.ShopEvents("shop-a", after, 10); err != nil || len(evs) != 0 {
			t.Fatalf("ShopEvents(after %d) = %+v, %v; want none", after, evs, err)
		}
	}
	for _, bad := range []struct {
		shop  string
		limit int
	}{{"shop-a", 0}, {"shop-a", -1}, {"shop-a", store.MaxEventsPage + 1}, {"", 10}} {
		if _, err := b.ShopEvents(bad.shop, 0, bad.limit); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("ShopEvents(%q, 0, %d) = %v; want ErrInvalid", bad.shop, bad.limit, err)
		}
	}
}

// testEventsConcurrent: updates of many licenses of one shop at once
// number their events 1..n without gaps or repeats, every event there.
func testEventsConcurrent(t *testing.T, b store.Backend) {
	const n, per = 8, 3
	ls := make([]store.License, n)
	for i := range ls {
		ls[i] = SoldLicense(t, 1, "shop-a", fmt.Sprintf("o-%d", i))
	}
	create(t, b, ls...)
	var wg sync.WaitGroup
	errs := make(chan error, n*per)
	for i := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				errs <- b.Update(ls[i].ID, nil, record(store.EventSuspended))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	evs := events(t, b, "shop-a")
	checkSeqs(t, evs)
	count := map[store.LicenseID]int{}
	for _, e := range evs {
		count[e.License]++
	}
	for i := range ls {
		if count[ls[i].ID] != per {
			t.Fatalf("license %d has %d events; want %d (stream %+v)", i, count[ls[i].ID], per, evs)
		}
	}
}

// testEventsExpiringOnce: an expiring event is appended once per license
// and end, however often and concurrently it is asked for, numbered in
// the stream with Update's events; anything but an expiring event of a
// shop at a time is ErrInvalid.
func testEventsExpiringOnce(t *testing.T, b store.Backend) {
	l := SoldLicense(t, 1, "shop-a", "o")
	create(t, b, l)
	if err := b.Update(l.ID, nil, record(store.EventSuspended)); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	e := store.Event{Kind: store.EventExpiring, Shop: "shop-a", License: l.ID, Order: "o", Product: l.Product, Time: now, Days: 14}
	end := now + 14*86400
	var added atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := b.AppendExpiring(e, end)
			if ok {
				added.Add(1)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("AppendExpiring: %v", err)
		}
	}
	if added.Load() != 1 {
		t.Fatalf("%d concurrent AppendExpiring of one end added; want 1", added.Load())
	}
	if ok, err := b.AppendExpiring(e, end); ok || err != nil {
		t.Fatalf("AppendExpiring again = %v, %v; want false", ok, err)
	}
	renewed := e
	renewed.Days = 13
	if ok, err := b.AppendExpiring(renewed, end+365*86400); !ok || err != nil {
		t.Fatalf("AppendExpiring of another end = %v, %v; want added", ok, err)
	}
	if err := b.Update(l.ID, nil, record(store.EventResumed)); err != nil {
		t.Fatal(err)
	}
	evs := events(t, b, "shop-a")
	checkSeqs(t, evs)
	kinds := []store.EventKind{store.EventSuspended, store.EventExpiring, store.EventExpiring, store.EventResumed}
	if len(evs) != len(kinds) {
		t.Fatalf("stream = %+v; want %v", evs, kinds)
	}
	for i, ev := range evs {
		if ev.Kind != kinds[i] || ev.License != l.ID {
			t.Fatalf("event %d = %+v; want %v of the license", i, ev, kinds[i])
		}
	}
	if evs[1].Days != 14 || evs[2].Days != 13 || evs[1].Time != now || evs[1].Order != "o" {
		t.Fatalf("expiring events = %+v, %+v; want 14 then 13 days, at the time given", evs[1], evs[2])
	}
	for name, bad := range map[string]func(e *store.Event){
		"suspended": func(e *store.Event) { e.Kind = store.EventSuspended },
		"no shop":   func(e *store.Event) { e.Shop = "" },
		"no time":   func(e *store.Event) { e.Time = 0 },
		"kind 0":    func(e *store.Event) { e.Kind = 0 },
	} {
		x := e
		bad(&x)
		if ok, err := b.AppendExpiring(x, end+1); ok || !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("AppendExpiring of %s = %v, %v; want ErrInvalid", name, ok, err)
		}
	}
	if n := len(events(t, b, "shop-a")); n != len(kinds) {
		t.Fatalf("refused appends wrote: %d events", n)
	}
}
