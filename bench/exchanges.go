package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	mrand "math/rand/v2"
	"time"

	"github.com/tollgate/tollgate/wire"
)

// Names of failures that are not a status the gateway sent.
const (
	errBadAnswer = "BAD_ANSWER" // an answer of the wrong type, or one that does not parse
	errBadNonce  = "BAD_NONCE"  // an answer that does not echo its request
	errBadLease  = "BAD_LEASE"  // a lease that does not verify against the card
	errDial      = "DIAL"       // a new connection failed
	errHandshake = "HANDSHAKE"  // a new Noise session failed
	errTimeout   = "TIMEOUT"    // no answer in time on a new connection
)

// nonceFor is the nonce of request id on a stream: the stream's random
// prefix, then the id. An answer is checked against it without keeping
// any state per request.
func nonceFor(prefix [8]byte, id uint32) (n [wire.NonceSize]byte) {
	copy(n[:], prefix[:])
	binary.BigEndian.PutUint32(n[8:], id)
	return n
}

func newPrefix() (p [8]byte) {
	rand.Read(p[:])
	return p
}

func newRand() *mrand.ChaCha8 {
	var seed [32]byte
	rand.Read(seed[:])
	return mrand.NewChaCha8(seed)
}

// refusal returns the status name of an ErrorResponse, or errBadAnswer for
// any other type than want.
func refusal(typ, want wire.Type, body []byte) string {
	if typ == wire.TypeErrorResponse {
		er, _, err := wire.ParseErrorResponse(body)
		if err != nil {
			return errBadAnswer
		}
		return er.Status.String()
	}
	if typ != want {
		return errBadAnswer
	}
	return ""
}

// randomFingerprint is a machine nobody has seen: three components with
// random hashes.
func randomFingerprint(r *mrand.ChaCha8) wire.Fingerprint {
	var f wire.Fingerprint
	for i, k := range []wire.ComponentKind{wire.KindMachineID, wire.KindMAC, wire.KindDisk} {
		f.C[i].Kind = k
		r.Read(f.C[i].Hash[:])
		f.C[i].Hash[0] |= 1 // never all zeros
	}
	f.N = 3
	return f
}

// deactivateEx frees the seats of its licenses, once each.
type deactivateEx struct {
	prefix   [8]byte
	licenses [][wire.LicenseIDSize]byte
	next     int
}

func newDeactivateEx(licenses [][wire.LicenseIDSize]byte) *deactivateEx {
	return &deactivateEx{prefix: newPrefix(), licenses: licenses}
}

func (e *deactivateEx) ops() []string { return []string{"deactivate"} }

func (e *deactivateEx) request(b []byte, id uint32) ([]byte, uint32, reqKind) {
	if e.next == len(e.licenses) {
		return b, 0, reqNone
	}
	req := wire.DeactivateRequest{Nonce: nonceFor(e.prefix, id), LicenseID: e.licenses[e.next]}
	e.next++
	return wire.AppendFrame(b, id, req), 0, reqFrame
}

func (e *deactivateEx) answer(id, _ uint32, typ wire.Type, body []byte) (int, string) {
	return 0, checkDeactivate(e.prefix, id, typ, body)
}

func checkDeactivate(prefix [8]byte, id uint32, typ wire.Type, body []byte) string {
	if s := refusal(typ, wire.TypeDeactivateResponse, body); s != "" {
		return s
	}
	resp, _, err := wire.ParseDeactivateResponse(body)
	if err != nil {
		return errBadAnswer
	}
	if resp.Nonce != nonceFor(prefix, id) {
		return errBadNonce
	}
	return ""
}

func (e *deactivateEx) side(context.Context, uint32) (int, string) { return 0, errBadAnswer }

// sideTimeout bounds one side operation (a new connection, a session, a
// round trip): only a hang reaches it, a slow machine does not.
const sideTimeout = time.Minute

// roundTrip sends one frame on f and judges the one answer, within ctx.
func roundTrip(ctx context.Context, f framer, frame []byte, judge func(wire.Type, []byte) string) string {
	if dl, ok := ctx.Deadline(); ok {
		f.SetReadDeadline(dl)
	}
	if err := f.WriteFrame(frame); err != nil {
		return errTimeout
	}
	ans, err := f.ReadFrame()
	if err != nil || len(ans) < wire.HeaderSize {
		return errTimeout
	}
	return judge(wire.Type(ans[1]), ans[wire.HeaderSize:])
}
