package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/wire"
)

// runMint: each connection a shop (registered for the embedded gateway)
// asking for batches of Batch keys, each a new order. Target: 500,000 keys
// a second, durable, in batches of 10,000.
func runMint(ctx context.Context, cfg *Config, r *Result) (err error) {
	t, err := prepare(ctx, cfg, need{shops: cfg.Conns})
	if err != nil {
		return err
	}
	defer closeTarget(t, &err)
	s, err := openSessions(ctx, t, cfg, channel.PatternKK)
	if err != nil {
		return err
	}
	defer s.close()
	var run [4]byte
	rand.Read(run[:])
	exs := make([]exchange, len(s.load.streams))
	for i := range exs {
		exs[i] = newMintEx("bench-"+hex.EncodeToString(run[:]), i, cfg.Product, cfg.Batch)
	}
	pr, err := measure(ctx, cfg, t, s.load, exs, r)
	if err != nil || r.Interrupted {
		return err
	}
	r.Batch = cfg.Batch
	r.KeysPerSec = ptr(r.RequestsPerSec * float64(cfg.Batch))
	if cfg.Addr == "" {
		r.note("%d shops, one per connection (the gateway serialises one shop's orders)", len(t.shopKeys))
	}
	if cfg.Ceiling {
		req, resp := frameSizes(pr)
		if err := runCeiling(ctx, cfg, r, req, resp, wire.TypeMintRequest); err != nil {
			return err
		}
	}
	if cfg.Batch == wire.MaxMintCount {
		r.target("mint keys per second, durable, batches of 10,000", ">= 500000", r.KeysPerSec, func(v float64) bool { return v >= 500000 }, "")
	} else {
		r.target("mint keys per second, durable, batches of 10,000", ">= 500000", nil, nil, "run with --batch 10000")
	}
	return nil
}

// mintEx asks for batches of keys, each a new order.
type mintEx struct {
	prefix  [8]byte
	run     string // this run's id, so that orders never repeat across runs
	stream  int
	product [wire.ProductSize]byte
	batch   int
	seq     uint32
}

func newMintEx(run string, stream int, product string, batch int) *mintEx {
	e := &mintEx{prefix: newPrefix(), run: run, stream: stream, batch: batch}
	copy(e.product[:], product)
	return e
}

func (e *mintEx) ops() []string { return []string{"mint"} }

func (e *mintEx) order(seq uint32) string { return fmt.Sprintf("%s-%d-%d", e.run, e.stream, seq) }

func (e *mintEx) request(b []byte, id uint32) ([]byte, uint32, reqKind) {
	e.seq++
	req := wire.MintRequest{Nonce: nonceFor(e.prefix, id), OrderID: []byte(e.order(e.seq)), Product: e.product, Count: uint16(e.batch)}
	return wire.AppendFrame(b, id, req), e.seq, reqFrame
}

func (e *mintEx) answer(id, tag uint32, typ wire.Type, body []byte) (int, string) {
	if s := refusal(typ, wire.TypeMintResponse, body); s != "" {
		return 0, s
	}
	resp, _, err := wire.ParseMintResponse(body)
	switch {
	case err != nil:
		return 0, errBadAnswer
	case resp.Nonce != nonceFor(e.prefix, id):
		return 0, errBadNonce
	case string(resp.OrderID) != e.order(tag) || int(resp.Count) != e.batch:
		return 0, errBadAnswer
	}
	// The keys come sealed to the shop (the parser checked their layout);
	// opening them is the shop's work, not the gateway's.
	return 0, ""
}

func (e *mintEx) side(context.Context, uint32) (int, string) { return 0, errBadAnswer }
