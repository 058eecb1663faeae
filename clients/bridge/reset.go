package bridge

import (
	"fmt"
	"net/http"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// SeatResetRequest is the body of POST /v1/licenses/{key}/reset: the
// customer frees the seat of one machine (hostname, as the license's
// activations list it) or, with all, every seat. Exactly one of them.
type SeatResetRequest struct {
	Hostname string `json:"hostname,omitempty"`
	All      bool   `json:"all,omitempty"`
}

// SeatResetResponse answers a self-service seat reset: the seats freed,
// the license's seats afterwards, how many more resets it has in the
// gateway's 30-day window, and, when none is left, when the next becomes
// possible.
type SeatResetResponse struct {
	Key        string    `json:"key"`
	Freed      uint32    `json:"freed"`
	SeatsUsed  uint32    `json:"seats_used"`
	Seats      uint32    `json:"seats"`
	ResetsLeft int       `json:"resets_left"`
	NextReset  time.Time `json:"next_reset,omitzero"`
}

// check refuses a body that names no seat, or both a machine and every
// seat, with a sentence saying what to send.
func (r *SeatResetRequest) check() string {
	switch {
	case r == nil || r.Hostname == "" && !r.All:
		return `Name the seat to free: {"hostname": "..."} as the license's activations list it, or {"all": true} for every seat.`
	case r.Hostname != "" && r.All:
		return `Give "hostname" or "all", not both.`
	case len(r.Hostname) > wire.MaxHostnameLen:
		return fmt.Sprintf(`"hostname" is at most %d bytes, as machines report it.`, wire.MaxHostnameLen)
	}
	return ""
}

// postSeatReset serves POST /v1/licenses/{key}/reset, the shop's "my
// licenses" page freeing a seat for its customer. Past the license's
// self-service resets the gateway refuses RESET_LIMIT (429, its sentence
// saying when the next is possible).
func (s *Server) postSeatReset(w http.ResponseWriter, r *http.Request) {
	key, err := keygen.ParseKey(r.PathValue("key"))
	if err != nil {
		writeProblem(w, Problem{Status: http.StatusBadRequest, Type: "malformed-key", Title: "Not a license key",
			Detail: "The path does not hold a well-formed license key (a typo, or a wrong check character)."})
		return
	}
	var req *SeatResetRequest
	if p, ok := decodeJSON(w, r, &req, false); !ok {
		writeProblem(w, p)
		return
	}
	if msg := req.check(); msg != "" {
		writeProblem(w, badRequest(msg))
		return
	}
	res, err := s.shop.ResetSeat(r.Context(), key, req.Hostname)
	s.health.saw(err)
	if err != nil {
		writeProblem(w, problemOf(err, "license", time.Now()))
		return
	}
	writeJSON(w, http.StatusOK, SeatResetResponse{Key: key.String(), Freed: res.Freed, SeatsUsed: res.SeatsUsed, Seats: res.Seats,
		ResetsLeft: res.ResetsLeft, NextReset: res.NextReset})
}
