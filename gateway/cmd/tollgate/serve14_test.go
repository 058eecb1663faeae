package main

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// serving is a gateway serving a data directory for a test, over QUIC on
// loopback, with its admin socket answering.
type serving struct {
	srv  *gateway.Server
	card *wire.Card // with the address it listens on
	stop func()
}

// serveDir serves dir until the test ends (or stop).
func serveDir(t *testing.T, dir string) *serving {
	t.Helper()
	srv, err := gateway.New(gateway.Config{Dir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	s := &serving{srv: srv}
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(s.stop)
	card := *srv.Identity().Card
	card.Address = srv.Addr().String()
	s.card = &card
	// Wait for the socket, as long as the test may: only a hang takes long.
	for deadline := time.Now().Add(hang.Timeout(t)); ; time.Sleep(5 * time.Millisecond) {
		c, err := gateway.DialAdmin(dir)
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("no admin socket: %v", err)
		}
	}
}

// installed is an installation an app activated.
type installed struct {
	key     channel.PrivateKey
	install [32]byte
	license [16]byte
	machine int
}

// testMachine is the fingerprint of the i-th machine of a test.
func testMachine(i int) wire.Fingerprint {
	id := strconv.Itoa(i)
	return clients.Fingerprint("1AJS2", []clients.RawComponent{
		{Kind: wire.KindMachineID, Value: "machine-" + id},
		{Kind: wire.KindMAC, Value: "02:00:00:00:00:" + id},
	})
}

// activateOver activates key on a new installation of machine m over
// QUIC, as an app does, with hostname host.
func activateOver(ctx context.Context, t *testing.T, card *wire.Card, key keygen.Key, m int, host string) (installed, error) {
	k, _ := channel.GenerateKey(rand.Reader)
	c, err := clients.New(clients.Config{Card: card, InstallKey: k, Limits: channel.Limits{HandshakeTimeout: hang.Timeout(t)}, Timeout: hang.Timeout(t)})
	if err != nil {
		return installed{}, err
	}
	defer c.Close()
	res, err := c.Activate(ctx, key, testMachine(m), host, "1.0")
	if err != nil {
		return installed{}, err
	}
	return installed{key: k, install: c.InstallID(), license: res.LicenseID, machine: m}, nil
}

// validateOver validates an installation over QUIC, as an app does.
func validateOver(t *testing.T, card *wire.Card, in installed) error {
	c, err := clients.New(clients.Config{Card: card, InstallKey: in.key, Limits: channel.Limits{HandshakeTimeout: hang.Timeout(t)}, Timeout: hang.Timeout(t)})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Validate(hang.Context(t), in.license, testMachine(in.machine), 1, false)
	return err
}
