package service

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/tollgate/tollgate/store"
)

// FlagPolicy says when a license is flagged as a key shared among people:
// more than MachinesPerSeat install keys, or more than NetworksPerSeat
// networks, per seat, activating it within WindowDays. A WindowDays of
// zero or less turns it off.
type FlagPolicy struct {
	MachinesPerSeat, NetworksPerSeat, WindowDays int
}

// sight records the machine and network of an activation in tx, and flags
// the license if they are now too many. It returns why it flagged it, or
// "" (not flagged now; a flagged license stays flagged until an operator
// clears it). The record and the flag's audit entry land in tx's commit.
func (s *Service) sight(tx *store.Tx, p *Peer, now time.Time) (string, error) {
	pol := s.flag
	if pol.WindowDays <= 0 {
		return "", nil
	}
	sg, err := tx.Sightings()
	if errors.Is(err, store.ErrCorrupt) {
		// Flagging never refuses an activation: the damaged record is
		// started anew.
		s.log.Error("license sightings damaged; starting them anew", "license", LicenseRef(tx.License.ID), "err", err)
		tx.ResetSightings()
		sg, err = tx.Sightings()
	}
	if err != nil {
		return "", err
	}
	t := now.Unix()
	since := t - int64(pol.WindowDays)*86400
	sg.Add(store.SightMachine, s.keys.Hasher.Tag("machine", p.Install[:]), t, since)
	if net, ok := network(p.Addr); ok {
		sg.Add(store.SightNetwork, s.keys.Hasher.Tag("network", net), t, since)
	}
	if sg.FlaggedAt != 0 {
		return "", nil
	}
	seats := max(int64(tx.License.Seats), 1)
	var why string
	if m := sg.Count(store.SightMachine, since); over(m, seats, pol.MachinesPerSeat) {
		why = fmt.Sprintf("activated on %d machines in %d days, for %d seat(s)", m, pol.WindowDays, seats)
	} else if n := sg.Count(store.SightNetwork, since); over(n, seats, pol.NetworksPerSeat) {
		why = fmt.Sprintf("activated from %d networks in %d days, for %d seat(s)", n, pol.WindowDays, seats)
	}
	if why == "" {
		return "", nil
	}
	sg.FlaggedAt, sg.Reason = t, why
	tx.Record(store.Event{Kind: store.EventFlagged})
	tx.Audit = &store.AuditEntry{Time: t, Kind: "license.flag", Shop: tx.License.Shop, License: LicenseRef(tx.License.ID), Detail: why}
	return why, nil
}

// over reports whether n sightings are more than perSeat for each of
// seats. The record keeps MaxSightings of both kinds together, so a limit
// at or above half of that cannot be told: never over (a license with
// hundreds of seats is not flagged).
func over(n int, seats int64, perSeat int) bool {
	limit := seats * int64(perSeat)
	return limit < store.MaxSightings/2 && int64(n) > limit
}

// network returns the network an address belongs to for flagging: an
// IPv4 /24 or an IPv6 /48, as bytes.
func network(a netip.Addr) ([]byte, bool) {
	if !a.IsValid() {
		return nil, false
	}
	bits := 24
	if a.Is6() {
		bits = 48
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return nil, false
	}
	b, _ := p.Addr().MarshalBinary()
	return b, true
}

// cloneFlagger flags the licenses whose installs were seen cloned (a
// validation counter that went back), off the validation path: validate
// reports the license and answers at once; one goroutine reads the
// license's sightings and, if it is not flagged yet, flags it durably with
// an audit entry. Reports beyond what the queue holds are dropped: the
// clone's next validation reports it again.
type cloneFlagger struct {
	s    *Service
	ch   chan store.LicenseID
	done chan struct{}
}

const cloneReason = "an installation's state is in use on two machines (its validation counter went back)"

func newCloneFlagger(s *Service) *cloneFlagger {
	c := &cloneFlagger{s: s, ch: make(chan store.LicenseID, 64), done: make(chan struct{})}
	go c.run()
	return c
}

// report queues id to be flagged; it never blocks.
func (c *cloneFlagger) report(id store.LicenseID) {
	if c == nil {
		return
	}
	select {
	case c.ch <- id:
	default:
	}
}

// close flags what is queued and stops. Call it before the store closes,
// after the sessions that report have ended.
func (c *cloneFlagger) close() {
	if c == nil {
		return
	}
	close(c.ch)
	<-c.done
}

func (c *cloneFlagger) run() {
	defer close(c.done)
	for id := range c.ch {
		c.flag(id)
	}
}

func (c *cloneFlagger) flag(id store.LicenseID) {
	s := c.s
	s.log.Warn("install clone refused", "license", LicenseRef(id))
	if s.flag.WindowDays <= 0 {
		return // flagging is off
	}
	if sg, err := s.st.Sightings(id); err == nil && sg.FlaggedAt != 0 {
		return
	}
	var lic store.License
	err := s.st.Update(id, func(tx *store.Tx) error {
		sg, err := tx.Sightings()
		if errors.Is(err, store.ErrCorrupt) {
			tx.ResetSightings()
			sg, err = tx.Sightings()
		}
		if err != nil {
			return err
		}
		if sg.FlaggedAt != 0 {
			return errFlagged
		}
		t := tx.Now.Unix()
		sg.FlaggedAt, sg.Reason = t, cloneReason
		lic = tx.License
		tx.Record(store.Event{Kind: store.EventFlagged})
		tx.Audit = &store.AuditEntry{Time: t, Kind: "license.flag", Shop: tx.License.Shop, License: LicenseRef(id), Detail: cloneReason}
		return nil
	})
	switch {
	case errors.Is(err, errFlagged):
	case err != nil:
		s.log.Error("flagging a cloned install failed", "license", LicenseRef(id), "err", err)
	default:
		s.log.Warn("license flagged", "license", LicenseRef(id), "product", lic.Product, "shop", lic.Shop, "order", lic.Order, "reason", cloneReason)
	}
}

var errFlagged = errors.New("service: already flagged")
