package bridge

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// License answers GET /v1/licenses/{key} and the key operations: the
// license's state afterwards. Key is the key redacted (product code and
// check character), enough to tell keys apart. State is "active",
// "suspended", "revoked" or "expired". Expiry is zero (absent) for a
// license that does not end or whose term has not started.
type License struct {
	Key         string       `json:"key"`
	State       string       `json:"state"`
	Product     string       `json:"product"`
	Seats       uint32       `json:"seats"`
	SeatsUsed   uint32       `json:"seats_used"`
	Activated   time.Time    `json:"activated,omitzero"`
	Expiry      time.Time    `json:"expiry,omitzero"`
	Activations []Activation `json:"activations"`
}

// Activation is a machine a license is activated on.
type Activation struct {
	Hostname string    `json:"hostname"`
	LastSeen time.Time `json:"last_seen"`
}

// states names the license states the gateway reports.
var states = map[wire.Status]string{
	wire.StatusOK: "active", wire.StatusSuspended: "suspended",
	wire.StatusRevoked: "revoked", wire.StatusExpired: "expired",
}

// keyOp returns the handler of POST /v1/licenses/{key}/OP, or of GET
// /v1/licenses/{key} for wire.KeyOpStatus. Only renew takes a body (a
// Term; empty: the key's own term); the others take none or {}.
func (s *Server) keyOp(op wire.KeyOp) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keygen.ParseKey(r.PathValue("key"))
		if err != nil {
			writeProblem(w, Problem{Status: http.StatusBadRequest, Type: "malformed-key", Title: "Not a license key",
				Detail: "The path does not hold a well-formed license key (a typo, or a wrong check character)."})
			return
		}
		var term wire.Term
		switch op {
		case wire.KeyOpRenew:
			var t *Term
			if p, ok := decodeJSON(w, r, &t, true); !ok {
				writeProblem(w, p)
				return
			}
			if term, err = t.wireTerm(); err != nil {
				writeProblem(w, badRequest(capital(err.Error())+"."))
				return
			}
		case wire.KeyOpSuspend, wire.KeyOpResume, wire.KeyOpRevoke:
			var none struct{}
			if p, ok := decodeJSON(w, r, &none, true); !ok {
				writeProblem(w, p)
				return
			}
		}
		st, err := s.shop.KeyOp(r.Context(), key, op, term)
		s.health.saw(err)
		if err != nil {
			writeProblem(w, problemOf(err, "license", time.Now()))
			return
		}
		writeJSON(w, http.StatusOK, licenseOf(key, st))
	}
}

func licenseOf(key keygen.Key, st *clients.KeyStatus) License {
	l := License{Key: key.String(), State: states[st.Status], Product: st.Product, Seats: st.Seats, SeatsUsed: st.SeatsUsed,
		Activated: st.Activated.UTC(), Expiry: st.Expiry.UTC(), Activations: []Activation{}}
	if l.State == "" {
		l.State = st.Status.String()
	}
	for _, a := range st.Activations {
		l.Activations = append(l.Activations, Activation{Hostname: a.Hostname, LastSeen: a.LastSeen.UTC()})
	}
	return l
}
