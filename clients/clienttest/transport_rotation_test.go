package clienttest

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
)

// TestTransportRotationUnderLoad rotates a running gateway's Noise key and
// TLS certificate through its admin socket (announce, then switch) while
// installs with the card from before validate in a loop, some on one
// long-lived connection, some on a new connection each time: no
// validation fails. An install with the announced card (next-* lines)
// activates before the switch and validates after it; after the retire
// it still does (its next keys are the gateway's), as does one with the
// card the switch wrote, while one with the card from before is refused
// wrong-server.
func TestTransportRotationUnderLoad(t *testing.T) {
	g := startGateway(t)
	dir := g.srv.Identity().Dir
	oldCard := g.card
	const installs, perPhase, bound = 4, 4, 400
	keys := g.mint(t, installs+4, service.Spec{})
	dirs := make([]string, installs)
	for i := range dirs {
		dirs[i] = filepath.Join(t.TempDir(), "state")
		l := openCard(t, oldCard, dirs[i])
		want(t, "activate", l.Activate(hang.Context(t), keys[i]), true, clients.ReasonOK)
		l.Close()
	}
	admin := func(op func(*adminapi.Client) (adminapi.TransportKeys, error)) adminapi.TransportKeys {
		t.Helper()
		ac, err := gateway.DialAdmin(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer ac.Close()
		ks, err := op(ac)
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	diskCard := func() *wire.Card {
		t.Helper()
		c, err := wire.LoadCard(filepath.Join(dir, gateway.FileCard))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetAddresses(oldCard.Addresses()); err != nil {
			t.Fatal(err)
		}
		return c
	}

	// Each install validates in a loop; after each phase (before, after the
	// announcement, after the switch) it reports perPhase validations.
	phases := make([]chan struct{}, 3)
	var reached [3]sync.WaitGroup
	for i := range phases {
		phases[i] = make(chan struct{})
		reached[i].Add(installs)
	}
	close(phases[0])
	errs := make(chan error, installs)
	var done sync.WaitGroup
	done.Add(installs)
	for i := range dirs {
		go func(i int) {
			defer done.Done()
			phase, count := 0, 0
			defer func() {
				for ; phase < 3; phase++ {
					if count < perPhase {
						reached[phase].Done()
					}
					count = 0
				}
			}()
			var long *clients.Licensee
			if i%2 == 0 {
				long = openCard(t, oldCard, dirs[i])
			}
			for n := 0; n < bound; n++ {
				l := long
				if l == nil {
					l = openCard(t, oldCard, dirs[i]) // a new connection
				}
				d := l.CheckNow(hang.Context(t))
				if l != long {
					l.Close()
				}
				if !d.Allowed || d.Reason != clients.ReasonOK {
					errs <- fmt.Errorf("install %d, check %d in phase %d refused: %s: %s", i, n, phase, d.Reason, d.Message)
					return
				}
				count++
				if count == perPhase {
					reached[phase].Done()
					if phase == 2 {
						phase = 3
						return
					}
				}
				if count >= perPhase {
					select {
					case <-phases[phase+1]:
						phase, count = phase+1, 0
					default:
					}
				}
			}
			errs <- fmt.Errorf("install %d: the loop ended in phase %d", i, phase)
		}(i)
	}
	reached[0].Wait()
	ks := admin((*adminapi.Client).AnnounceTransport)
	if len(ks.Keys) != 2 || ks.Keys[1].Role != "next" {
		t.Errorf("after the announcement: %+v", ks.Keys)
	}
	newCard := diskCard()
	if !newCard.HasNextNoiseKey() || !newCard.HasNextTLSPin() || newCard.NoiseKey != oldCard.NoiseKey {
		t.Error("the announced card does not name the next keys beside the current ones")
	}
	close(phases[1])
	// Installed with the announced card before the switch.
	nextDir := filepath.Join(t.TempDir(), "state")
	nl := openCard(t, newCard, nextDir)
	want(t, "activate with the announced card", nl.Activate(hang.Context(t), keys[installs]), true, clients.ReasonOK)
	nl.Close()
	reached[1].Wait()

	ks = admin((*adminapi.Client).SwitchTransport)
	if len(ks.Keys) != 2 || ks.Keys[1].Role != "previous" || ks.Keys[0].TLSPin == ks.Keys[1].TLSPin {
		t.Errorf("after the switch: %+v", ks.Keys)
	}
	switched := diskCard()
	if switched.NoiseKey != newCard.NextNoiseKey || switched.TLSPin != newCard.NextTLSPin || switched.HasNextNoiseKey() {
		t.Error("the card after the switch does not name the new keys alone")
	}
	close(phases[2])
	done.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if t.Failed() {
		t.FailNow()
	}
	want(t, "check with the announced card after the switch", openCard(t, newCard, nextDir).CheckNow(hang.Context(t)), true, clients.ReasonOK)
	sl := openCard(t, switched, filepath.Join(t.TempDir(), "state"))
	want(t, "activate with the switched card", sl.Activate(hang.Context(t), keys[installs+1]), true, clients.ReasonOK)

	admin((*adminapi.Client).RetireTransport)
	want(t, "check with the announced card after the retire", openCard(t, newCard, nextDir).CheckNow(hang.Context(t)), true, clients.ReasonOK)
	want(t, "check with the switched card after the retire", openCard(t, switched, filepath.Join(t.TempDir(), "s2")).Activate(hang.Context(t), keys[installs+2]), true, clients.ReasonOK)
	old := openCard(t, oldCard, filepath.Join(t.TempDir(), "state"))
	d := old.Activate(hang.Context(t), keys[installs+3])
	if d.Allowed || d.Reason != clients.ReasonWrongServer {
		t.Fatalf("activate with the card from before, after the retire: allowed %v, reason %s (%v); want wrong-server", d.Allowed, d.Reason, d.Err)
	}
	d = openCard(t, oldCard, dirs[0]).CheckNow(hang.Context(t))
	if d.Contact != clients.ReasonWrongServer {
		t.Fatalf("check with the card from before, after the retire: contact %s, want wrong-server", d.Contact)
	}
}
