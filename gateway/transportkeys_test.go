package gateway

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/wire"
)

// TestTransportRotationFiles runs announce, switch and retire on a data
// directory and checks the files, the card and the served state after
// each, and the refusals out of order.
func TestTransportRotationFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gw")
	id0, err := Init(dir, composite.MLDSA44Ed25519, "")
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, FileCard))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SwitchTransport(dir, TransportOptions{}); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "announce-transport") {
		t.Fatalf("switch before announce: %v", err)
	}
	if _, err := RetireTransport(dir); !errors.Is(err, ErrUsage) {
		t.Fatalf("retire before anything: %v", err)
	}

	now := time.Unix(1_800_000_000, 0)
	id1, err := AnnounceTransport(dir, TransportOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	next := id1.Transport.Next
	if next == nil || next.Since != now.Unix() || id1.Noise != id0.Noise || id1.Pin != id0.Pin {
		t.Fatal("announce: want the same current keys and a next")
	}
	if id1.Card.NextNoiseKey != next.Noise.Public() || id1.Card.NextTLSPin != next.Pin || id1.Card.NoiseKey != id0.Card.NoiseKey {
		t.Fatal("announce: the card does not name the next keys beside the current")
	}
	if fi, err := os.Stat(filepath.Join(dir, FileTransportKeys)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("transport keys file: %v, mode %v", err, fi.Mode())
	}
	st := transportOf(id1)
	if len(st.others) != 1 || st.others[0] != next.Noise || st.choose([32]byte{}, false) != st.cur || st.choose(next.Pin, true) != st.alt {
		t.Fatal("announce: the served state does not accept the next keys, or does not default to the current certificate")
	}
	if _, err := AnnounceTransport(dir, TransportOptions{}); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "switch-transport") {
		t.Fatalf("announce twice: %v", err)
	}

	id2, err := SwitchTransport(dir, TransportOptions{Now: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if id2.Noise != next.Noise || id2.Pin != next.Pin || id2.Transport.Next != nil {
		t.Fatal("switch: the next keys are not the current ones")
	}
	prev := id2.Transport.Previous
	if prev == nil || prev.Noise != id0.Noise || prev.Pin != id0.Pin {
		t.Fatal("switch: the previous keys are not the old current ones")
	}
	if id2.Card.NoiseKey != next.Noise.Public() || id2.Card.TLSPin != next.Pin || id2.Card.HasNextNoiseKey() || id2.Card.HasNextTLSPin() {
		t.Fatal("switch: the card does not name the new keys alone")
	}
	st = transportOf(id2)
	if len(st.others) != 1 || st.others[0] != id0.Noise || st.choose([32]byte{}, false) != st.alt || st.choose(next.Pin, true) != st.cur || st.choose(id0.Pin, true) != st.alt {
		t.Fatal("switch: the served state does not accept the previous keys, or does not default to the previous certificate")
	}
	for _, f := range []string{FileNoiseKey, FileTLSKey, FileTransportKeys} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s after the switch: %v", f, err)
		}
	}
	if _, err := AnnounceTransport(dir, TransportOptions{}); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "retire-transport") {
		t.Fatalf("announce while the previous is kept: %v", err)
	}

	id3, err := RetireTransport(dir)
	if err != nil {
		t.Fatal(err)
	}
	if id3.Transport.Previous != nil || id3.Transport.Next != nil {
		t.Fatal("retire kept a key")
	}
	if _, err := os.Stat(filepath.Join(dir, FileTransportKeys)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("transport keys file after retire: %v", err)
	}
	if st := transportOf(id3); len(st.others) != 0 || st.alt != nil {
		t.Fatal("retire: the served state still holds another key")
	}
	after, _ := os.ReadFile(filepath.Join(dir, FileCard))
	c, err := wire.ParseCard(after)
	if err != nil || len(after) != len(before) || c.NoiseKey == id0.Card.NoiseKey {
		t.Fatalf("the card after the rotation: %v (a card of new keys, the same size as before)", err)
	}
	// The list names public keys only.
	l := id2.TransportList()
	if len(l.Keys) != 2 || l.Keys[0].Role != "current" || l.Keys[1].Role != "previous" || l.Keys[1].NoiseKey != id0.Noise.Public().String() {
		t.Fatalf("list: %+v", l)
	}
}

// TestTransportSwitchResumes checks that a switch interrupted after the
// transport keys file recorded both the next and the previous is
// completed by running it again, keeping the true previous.
func TestTransportSwitchResumes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gw")
	id0, err := Init(dir, composite.MLDSA44Ed25519, "")
	if err != nil {
		t.Fatal(err)
	}
	id1, err := AnnounceTransport(dir, TransportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The state after the switch's first write and its noise.key.
	cur, err := currentTransportKey(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	set := &TransportKeys{Next: id1.Transport.Next, Previous: cur}
	if err := writeTransportKeys(dir, set); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, FileNoiseKey))
	if err := channel.WritePrivateKeyFile(filepath.Join(dir, FileNoiseKey), id1.Transport.Next.Noise); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIdentity(dir); !errors.Is(err, ErrIdentityCorrupt) || !strings.Contains(err.Error(), "switch-transport") {
		t.Fatalf("load in the middle of a switch: %v", err)
	}
	id2, err := SwitchTransport(dir, TransportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if id2.Noise != id1.Transport.Next.Noise || id2.Transport.Previous.Noise != id0.Noise {
		t.Fatal("the resumed switch lost the previous key")
	}
}

// TestTransportKeysFileStrict checks that a damaged transport keys file
// is refused naming the line, never quoting a key.
func TestTransportKeysFileStrict(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gw")
	if _, err := Init(dir, composite.MLDSA44Ed25519, ""); err != nil {
		t.Fatal(err)
	}
	id, err := AnnounceTransport(dir, TransportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(filepath.Join(dir, FileTransportKeys))
	lines := strings.Split(string(good), "\n")
	f := strings.Split(lines[1], " ")
	for name, text := range map[string]string{
		"header":       "tollgate-transport-keys 2\n" + lines[1] + "\n",
		"role":         lines[0] + "\ncurrent" + lines[1][len("next"):] + "\n",
		"twice":        lines[0] + "\n" + lines[1] + "\n" + lines[1] + "\n",
		"fields":       lines[0] + "\n" + lines[1] + " x\n",
		"time":         lines[0] + "\nnext 0 " + strings.Join(f[2:], " ") + "\n",
		"key mismatch": lines[0] + "\nnext " + f[1] + " " + f[2] + " " + f[3] + " " + "AAAA" + "\n",
		"noise base64": lines[0] + "\nnext " + f[1] + " *** " + strings.Join(f[3:], " ") + "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, FileTransportKeys), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadIdentity(dir)
		if !errors.Is(err, ErrIdentityCorrupt) {
			t.Errorf("%s: %v, want ErrIdentityCorrupt", name, err)
			continue
		}
		if strings.Contains(err.Error(), f[2]) || strings.Contains(err.Error(), f[4]) {
			t.Errorf("%s: the error quotes a private key", name)
		}
	}
	_ = id
}
