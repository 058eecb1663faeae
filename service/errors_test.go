package service

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// TestStatusOf: every kind of refusal has a status of its own (none is OK,
// no two share one), a refusal keeps its kind and sentence through
// wrapping, the store's not-found and not-activated are refusals too, and
// anything else is the gateway's failure, told as "try again later".
func TestStatusOf(t *testing.T) {
	t.Parallel()
	seen := map[wire.Status]Kind{}
	for k := KindInternal; int(k) < len(statuses); k++ {
		st := k.Status()
		if st == wire.StatusOK {
			t.Errorf("kind %d has status OK", k)
		}
		if other, ok := seen[st]; ok {
			t.Errorf("kinds %d and %d share status %v", other, k, st)
		}
		seen[st] = k
	}
	wrapped := fmt.Errorf("while activating: %w", refuse(KindNoSeats, "no seat left"))
	if st, msg, internal := StatusOf(wrapped); st != wire.StatusNoSeats || msg != "no seat left" || internal {
		t.Errorf("wrapped refusal: %v %q %v", st, msg, internal)
	}
	if !errors.Is(wrapped, ErrNoSeats) || errors.Is(wrapped, ErrRevoked) {
		t.Error("errors.Is does not match refusals by kind")
	}
	if st, _, internal := StatusOf(fmt.Errorf("x: %w", store.ErrNotFound)); st != wire.StatusNotFound || internal {
		t.Errorf("store not found: %v %v", st, internal)
	}
	if st, _, internal := StatusOf(store.ErrNotActivated); st != wire.StatusNotActivated || internal {
		t.Errorf("store not activated: %v %v", st, internal)
	}
	if st, msg, internal := StatusOf(errors.New("disk on fire")); st != wire.StatusServerError || !internal || msg == "disk on fire" {
		t.Errorf("internal failure: %v %q %v", st, msg, internal)
	}
	if got := ErrRevoked.Error(); got != "this license was revoked" {
		t.Errorf("a refusal reads %q", got)
	}
}
