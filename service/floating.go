package service

import (
	"errors"
	"time"

	"github.com/tollgate/tollgate/store"
)

// Floating (concurrent) licenses. A license whose Policy.Floating is set
// may be bound to any number of installs, of which at most Seats hold a
// seat at once. An install holds a seat while its activation's
// LeaseExpiry is in the future: a checkout (an activation, or a
// validation of an install not holding one) takes a free seat for
// Policy.LeaseSeconds, a heartbeat (a validation of an install holding
// one) extends it by as much again, a check-in ends it at once, and a
// seat whose heartbeats stop is free when its lease runs out, with no
// operator action. The binding (the activation record) stays when the
// seat is free, so that the install checks a seat out again at its next
// start without the key, which the client never keeps.
//
// Seats are counted under the license's lock (store.Update): the count is
// exact under any concurrency, on every backend.

// Bounds of a floating product's checkout time (Policy.LeaseSeconds).
const (
	MinCheckoutSeconds = store.MinCheckoutSeconds
	MaxCheckoutSeconds = store.MaxCheckoutSeconds
)

// bindingIdleSeconds is how long a floating license keeps the binding of
// an install that holds no seat: an install not seen for that long checks
// out again with its key. Bindings are pruned when a new install binds.
const bindingIdleSeconds = 30 * 86400

// maxFloatingBindings bounds the bindings of one floating license of
// seats seats, even within bindingIdleSeconds: past it, a new install
// displaces the binding idle longest (which then needs its key again).
func maxFloatingBindings(seats uint32) int { return int(min(max(seats, 1), 10000))*4 + 64 }

// RetryRefusal is a refusal that knows when the same request may
// succeed: a floating license's seats all held, until the earliest runs
// out. It unwraps to its *Error, so KindOf, StatusOf and errors.Is see
// the refusal.
type RetryRefusal struct {
	Err *Error
	At  int64 // Unix seconds
}

func (e *RetryRefusal) Error() string { return e.Err.Msg }

// Unwrap returns the refusal.
func (e *RetryRefusal) Unwrap() error { return e.Err }

// RetryAt returns when the request refused with err may succeed (Unix
// seconds), or 0 when that is not known.
func RetryAt(err error) int64 {
	var r *RetryRefusal
	if errors.As(err, &r) {
		return r.At
	}
	return 0
}

// noFloatingSeat refuses a checkout while every seat is held; at is when
// the first of them runs out.
func noFloatingSeat(at int64) error {
	when := time.Unix(at, 0).UTC().Format("15:04:05 MST")
	return &RetryRefusal{
		Err: refusef(KindNoSeats, "every floating seat of this license is in use; try again after %s, or close the program on another machine", when),
		At:  at,
	}
}

// errCheckInNodeLocked refuses a check-in of a license whose seats are
// not floating.
var errCheckInNodeLocked = refuse(KindBadRequest, "this license's seats are not floating, so they are not checked in; deactivate the license to free its seat")

// holding reports whether activation a holds a floating seat at now.
func holding(a *store.Activation, now int64) bool { return a.LeaseExpiry > now }

// seatsHeld counts the floating seats of tx's license held at now by
// installs other than except, and returns when the first of them runs out.
func seatsHeld(tx *store.Tx, except store.InstallID, now int64) (held uint32, first int64) {
	for i := range tx.Activations {
		a := &tx.Activations[i]
		if a.Install == except || !holding(a, now) {
			continue
		}
		held++
		if first == 0 || a.LeaseExpiry < first {
			first = a.LeaseExpiry
		}
	}
	return held, first
}

// checkout makes install a (a new binding, or one of tx's) hold a seat of
// tx's floating license at now, or refuses with when to retry. It reports
// whether a seat was taken (rather than one held extended). The caller
// then signs the lease, which sets the checkout's end (LeaseExpiry), and
// puts a.
func checkout(tx *store.Tx, a *store.Activation, now int64) (took bool, err error) {
	if holding(a, now) {
		return false, nil
	}
	held, first := seatsHeld(tx, a.Install, now)
	if held >= max(tx.License.Seats, 1) {
		return false, noFloatingSeat(first)
	}
	return true, nil
}

// pruneBindings makes room for a new binding of tx's floating license:
// bindings not holding a seat and idle for bindingIdleSeconds go, and the
// idlest of those not holding a seat while there are still too many.
func pruneBindings(tx *store.Tx, now int64) {
	var idle []store.InstallID
	for i := range tx.Activations {
		a := &tx.Activations[i]
		if !holding(a, now) && max(a.LastSeen, a.LeaseExpiry) < now-bindingIdleSeconds {
			idle = append(idle, a.Install)
		}
	}
	for _, in := range idle {
		tx.DeleteActivation(in)
	}
	for len(tx.Activations) >= maxFloatingBindings(tx.License.Seats) {
		oldest := -1
		for i := range tx.Activations {
			a := &tx.Activations[i]
			if !holding(a, now) && (oldest < 0 || a.LastSeen < tx.Activations[oldest].LastSeen) {
				oldest = i
			}
		}
		if oldest < 0 {
			return
		}
		tx.DeleteActivation(tx.Activations[oldest].Install)
	}
}

// recordFloatingSeat records a floating seat taken (activated) or freed
// (deactivated) by the machine hostname, with the seats held after it.
func recordFloatingSeat(tx *store.Tx, k store.EventKind, hostname string, now int64) {
	var none store.InstallID
	held, _ := seatsHeld(tx, none, now)
	tx.Record(store.Event{Kind: k, Seat: min(held, tx.License.Seats), Seats: tx.License.Seats, Machine: hostname})
}

// SeatsInUse returns how many seats of license l its activations acts use
// at now: the activations, or for a floating license those holding a seat.
func SeatsInUse(l *store.License, acts []store.Activation, now int64) uint32 {
	if !l.Policy.Floating {
		return uint32(len(acts))
	}
	var n uint32
	for i := range acts {
		if holding(&acts[i], now) {
			n++
		}
	}
	return n
}

// CheckIn frees the floating seat p's install holds on license id at once,
// durably, and keeps the install's binding. An install not holding a seat
// is answered as one that checked in (a retried check-in succeeds).
func (s *Service) CheckIn(id store.LicenseID, p *Peer) error {
	now := s.now().Unix()
	err := s.st.Update(id, func(tx *store.Tx) error {
		a, ok := tx.Activation(p.Install)
		if !ok {
			return store.ErrNotActivated
		}
		if !tx.License.Policy.Floating {
			return errCheckInNodeLocked
		}
		if !holding(&a, now) {
			return errNothingToWrite
		}
		a.LeaseExpiry, a.LastSeen = now, max(a.LastSeen, now)
		tx.PutActivation(a)
		recordFloatingSeat(tx, store.EventDeactivated, a.Hostname, now)
		return nil
	})
	if errors.Is(err, errNothingToWrite) {
		return nil
	}
	if err != nil {
		return s.failed(err, "check in")
	}
	s.log.Info("floating seat checked in", "license", LicenseRef(id))
	return nil
}

// errNothingToWrite ends an update that has nothing to change.
var errNothingToWrite = errors.New("service: nothing to write")

// FloatingSeat is one install's binding to a floating license as an
// operator sees it: whether it holds a seat, and until when (or until
// when it last held one).
type FloatingSeat struct {
	Machine  string `json:"machine"` // MachineID of the install
	Hostname string `json:"hostname"`
	Held     bool   `json:"held"`
	Until    int64  `json:"until,omitempty"` // Unix seconds: the checkout's end, or the last one's
	LastSeen int64  `json:"last_seen"`
}

// FloatingSeats returns the bindings of a floating license's activations
// at now, those holding a seat first (earliest end first), then the others
// (most recent first).
func FloatingSeats(acts []store.Activation, now int64) []FloatingSeat {
	out := make([]FloatingSeat, 0, len(acts))
	for i := range acts {
		a := &acts[i]
		out = append(out, FloatingSeat{Machine: MachineID(a.Install), Hostname: a.Hostname, Held: holding(a, now), Until: a.LeaseExpiry, LastSeen: a.LastSeen})
	}
	sortSeats(out)
	return out
}

func sortSeats(s []FloatingSeat) {
	less := func(a, b *FloatingSeat) bool {
		if a.Held != b.Held {
			return a.Held
		}
		if a.Held {
			return a.Until < b.Until
		}
		return a.Until > b.Until
	}
	for i := 1; i < len(s); i++ { // insertion sort: a license has few bindings
		for j := i; j > 0 && less(&s[j], &s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
