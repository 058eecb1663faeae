package gateway

import "time"

// expiringEvery is how often the gateway looks for licenses about to end
// (Config.ExpiringDays), after once at start.
const expiringEvery = 24 * time.Hour

// startExpiring starts the loop that appends expiring events to the
// shops' streams (service.NoteExpiring), at once and then daily, unless
// Config.ExpiringDays turns it off. Several gateways on one database may
// each run it: each event is appended once. The returned function stops
// the loop and waits for a run in progress, so that the store is not
// closed under it.
func (s *Server) startExpiring() (stop func()) {
	if s.cfg.ExpiringDays < 0 {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(expiringEvery)
		defer t.Stop()
		for {
			n, err := s.svc.NoteExpiring(s.cfg.ExpiringDays)
			switch {
			case err != nil:
				s.cfg.Logger.Error("expiring events: will try again", "err", err, "appended", n)
			case n > 0:
				s.cfg.Logger.Info("expiring events appended", "events", n, "within_days", s.cfg.ExpiringDays)
			}
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}
