package gateway

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/wire"
)

// Stats returns what the gateway did since it started and what its store
// holds, by name: uptime_seconds; sessions_app, sessions_shop (opened),
// sessions_open, handshakes_failed, leases_signed; answers_KIND_STATUS
// for each count that is not zero (answers_validate_OK,
// answers_activate_NO_SEATS, ...; KIND is validate, activate, deactivate,
// time, mint, key_op or other); and store_disk_bytes,
// store_memtable_bytes, store_l0_sublevels, store_l0_tables,
// store_compaction_debt_bytes, store_write_behind. OK validations are
// counted at most a second late.
func (s *Server) Stats() map[string]int64 {
	m := s.stats.snapshot()
	m["uptime_seconds"] = int64(s.cfg.Now().Sub(s.stats.started).Seconds())
	st := s.st.Stats()
	m["store_disk_bytes"] = int64(st.DiskBytes)
	m["store_memtable_bytes"] = int64(st.MemtableBytes)
	m["store_l0_sublevels"] = int64(st.L0Sublevels)
	m["store_l0_tables"] = st.L0Tables
	m["store_compaction_debt_bytes"] = int64(st.CompactionDebt)
	m["store_write_behind"] = int64(st.WriteBehind)
	return m
}

// reqKind is what a counted answer answered.
type reqKind uint8

const (
	kindValidate reqKind = iota
	kindActivate
	kindDeactivate
	kindTime
	kindMint
	kindKeyOp
	kindOther // a request of no kind the channel serves, or an unreadable frame
	numKinds
)

var kindNames = [numKinds]string{"validate", "activate", "deactivate", "time", "mint", "key_op", "other"}

// numStatuses bounds the statuses counted one by one; a higher one (from a
// newer wire version) is counted with the last.
const numStatuses = 32

// kindOf returns the kind of a request type.
func kindOf(t wire.Type) reqKind {
	switch t {
	case wire.TypeValidateRequest:
		return kindValidate
	case wire.TypeActivateRequest:
		return kindActivate
	case wire.TypeDeactivateRequest:
		return kindDeactivate
	case wire.TypeTimeRequest:
		return kindTime
	case wire.TypeMintRequest:
		return kindMint
	case wire.TypeKeyOpRequest:
		return kindKeyOp
	}
	return kindOther
}

// stats counts what a gateway did since it started, for its operator
// (tollgate stats). Counting is atomic adds, except the hot path's OK
// validations, which a session tallies itself and adds once a second
// (validTally).
type stats struct {
	started time.Time
	// Sessions by channel, those open now, and handshakes that failed.
	appSessions, shopSessions, openSessions, failedHandshakes atomic.Int64
	leasesSigned                                              atomic.Int64
	answers                                                   [numKinds][numStatuses]atomic.Uint64
}

func newStats(now time.Time) *stats { return &stats{started: now} }

// answered counts frame, the answer to a request of kind k: its status is
// that of an ErrorResponse or a ValidateResponse, else OK.
func (s *stats) answered(k reqKind, frame []byte) {
	s.answers[k][min(int(statusOf(frame)), numStatuses-1)].Add(1)
}

// statusOf returns the status an encoded answer frame carries.
func statusOf(frame []byte) wire.Status {
	const at = wire.HeaderSize + wire.NonceSize
	if len(frame) < at+2 {
		return wire.StatusOK
	}
	switch wire.Type(frame[1]) {
	case wire.TypeErrorResponse, wire.TypeValidateResponse:
		return wire.Status(binary.BigEndian.Uint16(frame[at:]))
	}
	return wire.StatusOK
}

// validTally is a session's count of OK validations not yet added to the
// gateway's stats: the hot path adds to a local counter and, at most once
// a second and when the session ends, to the shared one.
type validTally struct {
	n    uint64
	last int64 // Unix second of the last flush
}

// count tallies an answer to a validation at second now.
func (t *validTally) count(s *stats, frame []byte, now int64) {
	if st := statusOf(frame); st != wire.StatusOK {
		s.answers[kindValidate][min(int(st), numStatuses-1)].Add(1)
		return
	}
	t.n++
	if now != t.last {
		t.flush(s, now)
	}
}

func (t *validTally) flush(s *stats, now int64) {
	if t.n > 0 {
		s.answers[kindValidate][wire.StatusOK].Add(t.n)
		t.n = 0
	}
	t.last = now
}

// snapshot returns the counters by name: sessions_app, sessions_shop,
// sessions_open, handshakes_failed, leases_signed, and
// answers_KIND_STATUS for every count that is not zero (for example
// answers_validate_OK, answers_activate_NO_SEATS).
func (s *stats) snapshot() map[string]int64 {
	m := map[string]int64{
		"sessions_app":      s.appSessions.Load(),
		"sessions_shop":     s.shopSessions.Load(),
		"sessions_open":     s.openSessions.Load(),
		"handshakes_failed": s.failedHandshakes.Load(),
		"leases_signed":     s.leasesSigned.Load(),
	}
	for k := range numKinds {
		for st := range numStatuses {
			if n := s.answers[k][st].Load(); n > 0 {
				m["answers_"+kindNames[k]+"_"+wire.Status(st).String()] = int64(n)
			}
		}
	}
	return m
}
