package clienttest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
)

// TestLeaseKeyRotationUnderLoad rotates a running gateway's lease key
// through its admin socket while installs validate in a loop: no
// validation fails, every install ends with a lease of the new key and the
// new key learned in its state, the card on disk lists both keys (the new
// one first, the old one with its retire date), and an install started
// afterwards with the old card activates through the key statement.
func TestLeaseKeyRotationUnderLoad(t *testing.T) {
	g := startGateway(t)
	dir := g.srv.Identity().Dir
	oldCard := g.card
	oldKey := oldCard.LeaseKeys[0]
	const installs, before, after, bound = 4, 5, 5, 500
	keys := g.mint(t, installs+1, service.Spec{})
	ins := make([]install, installs)
	for i := range ins {
		ins[i] = open(t, g, "", machine("m"+string(rune('a'+i)), "aa:bb"), nil)
		want(t, "activate", ins[i].Activate(hang.Context(t), keys[i]), true, clients.ReasonOK)
	}

	var ready, done sync.WaitGroup
	rotated := make(chan struct{})
	errs := make(chan error, installs)
	ready.Add(installs)
	done.Add(installs)
	for i := range ins {
		go func(in install) {
			defer done.Done()
			n, seen, since := 0, false, 0
			for ; n < bound; n++ {
				d := in.CheckNow(hang.Context(t))
				if !d.Allowed || d.Reason != clients.ReasonOK {
					errs <- fmt.Errorf("check %d refused: %s: %s", n, d.Reason, d.Message)
					if n < before {
						ready.Done()
					}
					return
				}
				if n == before-1 {
					ready.Done()
				}
				select {
				case <-rotated:
					if !seen {
						seen, since = true, n
					}
				default:
				}
				if seen && n-since >= after && n >= before {
					return
				}
			}
			errs <- errors.New("the loop ended without seeing the rotation")
		}(ins[i])
	}
	ready.Wait()
	ac, err := gateway.DialAdmin(dir)
	if err != nil {
		t.Fatal(err)
	}
	retire := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second)
	list, err := ac.RotateLeaseKey(adminapi.KeyRotation{RetireAfter: retire.Unix()})
	ac.Close()
	close(rotated)
	done.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if err != nil {
		t.Fatalf("keys rotate: %v", err)
	}
	if t.Failed() {
		t.FailNow()
	}
	if len(list.Keys) != 2 || !list.Keys[0].Signing || list.Keys[1].Signing || list.Keys[1].RetireAfter != retire.Unix() {
		t.Fatalf("keys after the rotation: %+v", list.Keys)
	}

	card, err := wire.LoadCard(filepath.Join(dir, gateway.FileCard))
	if err != nil {
		t.Fatal(err)
	}
	if len(card.LeaseKeys) != 2 || !card.LeaseKeys[1].Equal(oldKey) || card.LeaseKeys[0].Equal(oldKey) {
		t.Fatalf("the card lists %d lease keys, want the new one then the old one", len(card.LeaseKeys))
	}
	newKey := card.LeaseKeys[0]
	if r, ok := card.RetireAfter(oldKey.ID()); !ok || r != retire.Unix() {
		t.Fatalf("the card retires the old key at %d, %v; want %d", r, ok, retire.Unix())
	}
	if _, ok := card.RetireAfter(newKey.ID()); ok {
		t.Fatal("the card retires the new key")
	}

	for i, in := range ins {
		holdsNewKey(t, in.dir, newKey.ID())
		want(t, fmt.Sprintf("offline check of install %d", i), in.CheckOffline(), true, clients.ReasonOffline)
	}

	// Installed with the old card after the rotation: the statement
	// introduces the new key at activation, and it is kept across a
	// restart of the program.
	late := open(t, g, "", machine("late", "cc:dd"), nil)
	want(t, "activate with the old card", late.Activate(hang.Context(t), keys[installs]), true, clients.ReasonOK)
	holdsNewKey(t, late.dir, newKey.ID())
	late.Close()

	// A gateway restarted on the rotated directory signs with the new key;
	// the install, opened again with the old card, knows it from its state.
	g.stop()
	g2 := startGateway(t, func(c *gateway.Config) { c.Dir = dir })
	if !g2.card.LeaseKeys[0].Equal(newKey) {
		t.Fatal("the restarted gateway's card does not list the new key first")
	}
	old2 := *oldCard
	old2.Address = g2.card.Address
	again := open(t, &testGateway{card: &old2}, late.dir, machine("late", "cc:dd"), nil)
	if err := again.Damaged(); err != nil {
		t.Fatalf("state after learning a key: %v", err)
	}
	want(t, "offline check after a restart", again.CheckOffline(), true, clients.ReasonOffline)
	want(t, "check after a restart", again.CheckNow(hang.Context(t)), true, clients.ReasonOK)
	holdsNewKey(t, late.dir, newKey.ID())
}

// holdsNewKey checks that the state directory dir keeps a lease signed by
// the key id and the statement that introduced it.
func holdsNewKey(t *testing.T, dir string, id [8]byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, clients.FileLease))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := wire.DearmorLease(b)
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := wire.ParseLease(raw)
	if err != nil {
		t.Fatal(err)
	}
	if l.KeyID != id {
		t.Fatalf("%s: the saved lease is signed by key %x, want the new key %x", dir, l.KeyID, id)
	}
	st, err := wire.ParseKeyStatement(l.Statement)
	if err != nil || st.NewKey.ID() != id {
		t.Fatalf("%s: the saved lease's statement: %v", dir, err)
	}
	keys, err := os.ReadFile(filepath.Join(dir, clients.FileLeaseKeys))
	if err != nil {
		t.Fatalf("%s: no learned keys: %v", dir, err)
	}
	if !bytes.HasPrefix(keys, []byte("tollgate-lease-keys 1\n")) || bytes.Count(keys, []byte("\n")) != 2 {
		t.Fatalf("%s: the learned keys file holds %q...", dir, keys[:min(len(keys), 40)])
	}
}

// TestLeaseKeyStatementRefused checks that a lease whose key statement is
// not signed by a key the app trusts is refused as a wrong card: a
// statement signed by a key the card does not hold (a forgery, or another
// gateway's rotation), and one signed by a card key past its retire date.
func TestLeaseKeyStatementRefused(t *testing.T) {
	other := startGateway(t)
	g := startGateway(t)
	oldKey := g.card.LeaseKeys[0]
	keys := g.mint(t, 3, service.Spec{})
	// An answer means Serve runs, and so does its admin socket, opened
	// before it accepts.
	first := open(t, g, "", machine("first", "aa:bb"), nil)
	want(t, "activate before the rotation", first.Activate(hang.Context(t), keys[2]), true, clients.ReasonOK)
	ac, err := gateway.DialAdmin(g.srv.Identity().Dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ac.RotateLeaseKey(adminapi.KeyRotation{})
	ac.Close()
	if err != nil {
		t.Fatal(err)
	}

	// The card names this gateway, but its lease key is another's: the
	// statement is signed by a key it does not hold.
	forged := *g.card
	forged.LeaseKeys = other.card.LeaseKeys
	in := open(t, &testGateway{card: &forged}, "", machine("f", "aa:bb"), nil)
	d := in.Activate(hang.Context(t), keys[0])
	want(t, "activate with a statement by an unknown key", d, false, clients.ReasonWrongCard)
	if _, err := os.Stat(filepath.Join(in.dir, clients.FileLeaseKeys)); err == nil {
		t.Fatal("a key introduced by an untrusted statement was kept")
	}

	// The card holds the statement's signer, retired an hour ago.
	retired := *g.card
	retired.LeaseKeys = []*composite.PublicKey{oldKey, other.card.LeaseKeys[0]}
	retired.Retire = []wire.CardRetire{{KeyID: oldKey.ID(), After: time.Now().Add(-time.Hour).Unix()}}
	in = open(t, &testGateway{card: &retired}, "", machine("r", "aa:bb"), nil)
	d = in.Activate(hang.Context(t), keys[1])
	want(t, "activate with a statement by a retired key", d, false, clients.ReasonWrongCard)

	// The same card with the retire date ahead: the statement is good.
	retired.Retire[0].After = time.Now().Add(time.Hour).Unix()
	in = open(t, &testGateway{card: &retired}, "", machine("r2", "aa:bb"), nil)
	want(t, "activate with a statement by a key retiring later", in.Activate(hang.Context(t), keys[1]), true, clients.ReasonOK)
}
