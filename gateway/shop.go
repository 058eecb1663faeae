package gateway

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// shops is the shop side of a gateway: the registered shops indexed by
// their key id for the pre-handshake lookup, and the tally of connections the IP lock refused, which a goroutine of its own
// writes to the log and the audit log (a refused connection must cost no
// fsync and no log line in line, or a flood of them writes the disk full).
type shops struct {
	st    *store.Store
	log   *slog.Logger
	index atomic.Pointer[map[[channel.KeyIDSize]byte]*store.Shop]

	refused *refusals
	changed chan struct{}  // a shared store's shops changed (followLoop)
	follow  sync.WaitGroup // followLoop
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func newShops(st *store.Store, log *slog.Logger) (*shops, error) {
	s := &shops{st: st, log: log, refused: newRefusals(time.Now()), stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.reload(); err != nil {
		return nil, err
	}
	go s.auditLoop()
	if st.Shared() {
		s.changed = make(chan struct{}, 1)
		st.OnChange(func(c store.Change) {
			if c.Kind == store.ChangeShops || c.Kind == store.ChangeResync {
				select {
				case s.changed <- struct{}{}:
				default: // a reload is due already
				}
			}
		})
		s.follow.Add(1)
		go s.followLoop()
	}
	return s, nil
}

// followLoop reloads the shops when another gateway on the shared store
// (or an operator command) changed them, so that a shop added, moved or
// deleted there is seen here at its next handshake or request.
func (s *shops) followLoop() {
	defer s.follow.Done()
	for {
		select {
		case <-s.stop:
			return
		case <-s.changed:
			if err := s.reload(); err != nil {
				s.log.Warn("reloading the shops after a change on the shared store failed; the next change retries", "err", err)
			}
		}
	}
}

// ReloadShops makes the running gateway see changes made to the shops in
// its store (registrations, removals) on the next shop handshake.
func (s *Server) ReloadShops() error { return s.shops.reload() }

// reload rebuilds the in-memory index from the store. Call it after any
// change to the shops.
func (s *shops) reload() error {
	list, err := s.st.Shops()
	if err != nil {
		return err
	}
	m := make(map[[channel.KeyIDSize]byte]*store.Shop, len(list))
	for i := range list {
		m[channel.PublicKey(list[i].PublicKey).ID()] = &list[i]
	}
	s.index.Store(&m)
	return nil
}

func (s *shops) byKeyID(id [channel.KeyIDSize]byte) *store.Shop { return (*s.index.Load())[id] }

// lookup returns the handshake's KK lookup for a connection from remote:
// the IP lock. It answers from memory, before any Diffie-Hellman.
func (s *shops) lookup(remote net.Addr) func([channel.KeyIDSize]byte) (channel.PublicKey, error) {
	return func(id [channel.KeyIDSize]byte) (channel.PublicKey, error) {
		refuse := &channel.RefusedError{Code: uint16(wire.StatusShopNotAllowed)}
		sh := s.byKeyID(id)
		if sh == nil {
			s.log.Debug("shop refused: unknown key", "addr", remote.String())
			return channel.PublicKey{}, refuse
		}
		addr, ok := addrOf(remote)
		if !ok || !sh.Allows(addr) {
			s.refused.add(sh.Name, addr) // logged and audited by auditLoop
			return channel.PublicKey{}, refuse
		}
		return channel.PublicKey(sh.PublicKey), nil
	}
}

// auditLoop writes the refusal tally: the first refusal of a shop from an
// address at once (nudged by add), the rest once an interval and on close,
// one log line and one audit entry for each shop and address.
func (s *shops) auditLoop() {
	defer close(s.done)
	t := time.NewTicker(refusalInterval)
	defer t.Stop()
	for {
		select {
		case <-s.refused.kick:
			s.writeRefusals(s.refused.takeFirst(), "")
		case now := <-t.C:
			sums, since := s.refused.takeAll(now)
			s.writeRefusals(sums, since)
		case <-s.stop:
			sums, since := s.refused.takeAll(time.Now())
			s.writeRefusals(sums, since)
			return
		}
	}
}

// writeRefusals logs and audits sums; since is how long they were counted
// over ("" for first refusals, written at once).
func (s *shops) writeRefusals(sums []refusalSum, since string) {
	for _, r := range sums {
		from := "other addresses"
		if !r.other {
			from = "an unknown address"
			if r.addr.IsValid() {
				from = r.addr.String()
			}
		}
		detail := fmt.Sprintf("%d connection(s) from %s outside its networks", r.n, from)
		if since != "" {
			detail += " in the last " + since
		}
		s.log.Warn("shop refused: "+detail, "shop", r.shop, "from", from, "count", r.n)
		if err := s.st.Audit(store.AuditEntry{Kind: "shop.refused", Shop: r.shop, Detail: detail}); err != nil {
			s.log.Error("audit: recording shop refusals failed", "err", err)
		}
	}
}

// close writes what the refusal tally holds and stops it.
func (s *shops) close() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	s.follow.Wait()
}
