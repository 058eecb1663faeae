package service

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/store"
)

func TestNetwork(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ addr, want string }{
		{"198.51.100.7", "198.51.100.0"},
		{"198.51.100.255", "198.51.100.0"},
		{"2001:db8:1:2:3::1", "2001:db8:1::"},
		{"2001:db8:1:ffff::9", "2001:db8:1::"},
	} {
		b, ok := network(netip.MustParseAddr(c.addr))
		want, _ := netip.MustParseAddr(c.want).MarshalBinary()
		if !ok || string(b) != string(want) {
			t.Errorf("network(%s) = %v %v, want %s", c.addr, b, ok, c.want)
		}
	}
	if _, ok := network(netip.Addr{}); ok {
		t.Error("network of no address")
	}
}

func TestOver(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n       int
		seats   int64
		perSeat int
		want    bool
	}{
		{3, 1, 3, false},
		{4, 1, 3, true},
		{8, 2, 4, false},
		{9, 2, 4, true},
		{511, 170, 3, true},            // limit 510: still counted
		{600, 171, 3, false},           // limit 513: the record cannot count that far
		{600, 600, 3, false},           // a site license used on its seats
		{1023, 1<<32 - 1, 1000, false}, // no overflow
	} {
		if got := over(c.n, c.seats, c.perSeat); got != c.want {
			t.Errorf("over(%d, %d seats, %d per seat) = %v", c.n, c.seats, c.perSeat, got)
		}
	}
}

// flagService is a service on a store in a temporary directory, with one
// license of seats seats, and the directory.
func flagService(t *testing.T, seats uint32, pol FlagPolicy) (*Service, store.LicenseID, string) {
	t.Helper()
	s, dir := newTestService(t, Config{Flag: pol})
	_, id := mintOne(t, s, Spec{Seats: seats})
	return s, id, dir
}

func sightOnce(t *testing.T, s *Service, id store.LicenseID, install byte, addr string) string {
	t.Helper()
	var why string
	p := Peer{Addr: netip.MustParseAddr(addr)}
	p.Install[0] = install
	err := s.st.Update(id, func(tx *store.Tx) error {
		var err error
		why, err = s.sight(tx, &p, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return why
}

// TestFlagByNetworks: one machine activating a two-seat license from a
// ninth network in the window flags it (4 per seat allowed: 8); another
// address of a network already seen is not a new network.
func TestFlagByNetworks(t *testing.T) {
	t.Parallel()
	s, id, _ := flagService(t, 2, FlagPolicy{MachinesPerSeat: 3, NetworksPerSeat: 4, WindowDays: 30})
	for i := range 8 {
		if why := sightOnce(t, s, id, 1, netip.AddrFrom4([4]byte{198, 51, byte(i), 7}).String()); why != "" {
			t.Fatalf("network %d flagged: %s", i+1, why)
		}
		if why := sightOnce(t, s, id, 1, netip.AddrFrom4([4]byte{198, 51, byte(i), 200}).String()); why != "" {
			t.Fatalf("another address of network %d flagged: %s", i+1, why)
		}
	}
	why := sightOnce(t, s, id, 1, "2001:db8:9::1")
	if !strings.Contains(why, "9 networks") || !strings.Contains(why, "2 seat(s)") {
		t.Fatalf("the ninth network: %q", why)
	}
	sg, err := s.st.Sightings(id)
	if err != nil || sg.FlaggedAt == 0 || sg.Count(store.SightMachine, 0) != 1 {
		t.Fatalf("sightings after the flag: %+v, %v", sg, err)
	}
	// Flagged once: the next sighting returns no new reason.
	if why := sightOnce(t, s, id, 2, "203.0.113.1"); why != "" {
		t.Fatalf("flagged again: %s", why)
	}
}

// TestFlagDamagedRecord: a sightings record that cannot be read does not
// refuse the activation; it is started anew.
func TestFlagDamagedRecord(t *testing.T) {
	t.Parallel()
	s, id, dir := flagService(t, 1, FlagPolicy{MachinesPerSeat: 3, NetworksPerSeat: 4, WindowDays: 30})
	s.st.Close()
	db, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set(append([]byte{'m'}, id[:]...), []byte{0xee, 1, 2}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st := openTestStore(t, dir)
	t.Cleanup(func() { st.Close() })
	s.st = st
	if fl, err := st.FlaggedLicenses(0); err != nil || len(fl) != 1 || !strings.Contains(fl[0].Sightings.Reason, "damaged") {
		t.Fatalf("FlaggedLicenses with a damaged record: %+v, %v", fl, err)
	}
	if why := sightOnce(t, s, id, 1, "198.51.100.1"); why != "" {
		t.Fatalf("flagged: %s", why)
	}
	if sg, err := st.Sightings(id); err != nil || sg.Count(store.SightMachine, 0) != 1 {
		t.Fatalf("after the damaged record: %+v, %v", sg, err)
	}
}
