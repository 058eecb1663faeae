package gateway

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/wire"
)

// reqKind is what a counted answer answered.
type reqKind uint8

const (
	kindValidate reqKind = iota
	kindActivate
	kindDeactivate
	kindTime
	kindMint
	kindKeyOp
	kindEvents
	kindOrder
	kindTrial
	kindOther // a request of no kind the channel serves, or an unreadable frame
	numKinds
)

var kindNames = [numKinds]string{"validate", "activate", "deactivate", "time", "mint", "key_op", "events", "order", "trial", "other"}

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
	case wire.TypeKeyOpRequest, wire.TypeSeatResetRequest:
		return kindKeyOp
	case wire.TypeEventsRequest:
		return kindEvents
	case wire.TypeOrderRequest:
		return kindOrder
	case wire.TypeTrialRequest:
		return kindTrial
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

// MetricsAddr returns the address the metrics page is served on, or nil
// (Config.MetricsListen).
func (s *Server) MetricsAddr() net.Addr {
	if s.metricsLn == nil {
		return nil
	}
	return s.metricsLn.Addr()
}

// startMetrics serves /metrics on Config.MetricsListen, if set.
func (s *Server) startMetrics() {
	if s.metricsLn == nil {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	s.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go func() {
		if err := s.metrics.Serve(s.metricsLn); err != nil && err != http.ErrServerClosed {
			s.cfg.Logger.Error("metrics page stopped", "err", err)
		}
	}()
	s.cfg.Logger.Info("metrics", "listen", s.metricsLn.Addr().String())
}

// sample is one figure of the gateway: key names it in Stats; name,
// labels, typ and help on the metrics page.
type sample struct {
	key, name, labels, typ, help string
	v                            int64
}

// samples returns the gateway's figures now, those of one name together.
func (s *Server) samples() []sample {
	g := s.stats
	out := []sample{
		{"uptime_seconds", "uptime_seconds", "", "gauge", "Seconds since the gateway started.", int64(s.cfg.Now().Sub(g.started).Seconds())},
		{"sessions_app", "sessions_opened_total", `channel="app"`, "counter", "Sessions opened, by channel.", g.appSessions.Load()},
		{"sessions_shop", "sessions_opened_total", `channel="shop"`, "counter", "", g.shopSessions.Load()},
		{"sessions_open", "sessions_open", "", "gauge", "Sessions open now.", g.openSessions.Load()},
		{"handshakes_failed", "handshakes_failed_total", "", "counter", "Noise handshakes that failed.", g.failedHandshakes.Load()},
		{"leases_signed", "leases_signed_total", "", "counter", "Leases signed.", s.svc.LeasesSigned()},
	}
	adm := s.AdmissionStats()
	out = append(out,
		sample{"quic_handshakes", "quic_handshakes", "", "gauge", "QUIC handshakes in progress.", int64(adm.Handshakes)},
		sample{"quic_handshakes_peak", "quic_handshakes_peak", "", "gauge", "The most QUIC handshakes in progress at once.", int64(adm.PeakHandshakes)},
		sample{"quic_conns", "quic_connections", "", "gauge", "QUIC connections established and open.", int64(adm.Conns)},
		sample{"quic_retries", "quic_retries_total", "", "counter", "QUIC Initials answered with a Retry (admission).", int64(adm.Retries)},
		sample{"quic_refused", "quic_refused_total", "", "counter", "QUIC connections refused past an admission cap.", int64(adm.Refused)},
	)
	help := "Answers, by kind of request and status (a session adds its OK validations when a second has passed since it last did, at its next validation, or when it ends)."
	for k := range numKinds {
		for st := range numStatuses {
			if n := g.answers[k][st].Load(); n > 0 {
				name := wire.Status(st).String()
				out = append(out, sample{"answers_" + kindNames[k] + "_" + strings.ToLower(name), "answers_total",
					fmt.Sprintf("kind=%q,status=%q", kindNames[k], name), "counter", help, int64(n)})
				help = ""
			}
		}
	}
	st := s.st.Stats()
	out = append(out, sample{"store_disk_bytes", "store_disk_bytes", "", "gauge", "Bytes of the store's files on disk.", int64(st.Bytes)})
	for _, x := range st.Extra { // the backend's own (Pebble: memtables, level 0, compaction debt)
		out = append(out, sample{x.Name, x.Name, "", "gauge", x.Help, x.Value})
	}
	return append(out,
		sample{"store_write_behind", "store_write_behind", "", "gauge", "Activations whose last-seen time is not yet written.", int64(st.PendingWrites)},
	)
}

// Stats returns what the gateway did since it started and what its store
// holds, by name: uptime_seconds; sessions_app, sessions_shop (opened),
// sessions_open, handshakes_failed, leases_signed; quic_handshakes,
// quic_handshakes_peak, quic_conns, quic_retries, quic_refused
// (admission); answers_KIND_STATUS
// for each count that is not zero (answers_validate_ok,
// answers_activate_no_seats, ...; KIND is validate, activate, deactivate,
// time, mint, key_op or other; STATUS the wire status's name in lower
// case: every key is snake_case); and store_disk_bytes,
// store_memtable_bytes, store_l0_sublevels, store_l0_tables,
// store_compaction_debt_bytes, store_write_behind. A session adds its OK
// validations at its first validation in a new second or when it ends, so
// an idle session may hold a few back (validTally).
func (s *Server) Stats() map[string]int64 {
	m := make(map[string]int64)
	for _, x := range s.samples() {
		m[x.key] = x.v
	}
	return m
}

// serveMetrics writes the samples in Prometheus's text format.
func (s *Server) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	b := bufio.NewWriter(w)
	last := ""
	for _, x := range s.samples() {
		if x.name != last {
			fmt.Fprintf(b, "# HELP tollgate_%s %s\n# TYPE tollgate_%s %s\n", x.name, x.help, x.name, x.typ)
			last = x.name
		}
		if x.labels != "" {
			fmt.Fprintf(b, "tollgate_%s{%s} %d\n", x.name, x.labels, x.v)
		} else {
			fmt.Fprintf(b, "tollgate_%s %d\n", x.name, x.v)
		}
	}
	b.Flush()
}
