package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// runRevokeDelay: a shop registered with the embedded gateway mints
// Revocations keys through node A; then, for each key in turn, an install
// activates it through node A and validates it through node B, which then
// holds it in its cache; the shop revokes it through node A; and the
// install validates it through node B again and again until B answers
// REVOKED. The delay measured is from the revocation's answer to that
// REVOKED answer: how long another node goes on honouring a license the
// deployment revoked (its cache is invalidated through the store's
// notifications). It includes one validation's round trip. Target: p99
// under 100 ms on loopback.
func runRevokeDelay(ctx context.Context, cfg *Config, r *Result) (err error) {
	t, err := prepare(ctx, cfg, need{shops: 1})
	if err != nil {
		return err
	}
	defer closeTarget(t, &err)
	a, b := t.cardOf(0), t.cardOf(1)
	shop, err := clients.NewShop(clients.ShopConfig{Card: a, ShopKey: t.shopKeys[0], Timeout: sideTimeout})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	defer shop.Close()
	keys, err := mintThrough(ctx, shop, cfg)
	if err != nil {
		return err
	}
	install, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	onA, err := clients.New(clients.Config{Card: a, InstallKey: install, Timeout: sideTimeout})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	defer onA.Close()
	onB, err := clients.New(clients.Config{Card: b, InstallKey: install, Timeout: sideTimeout})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	defer onB.Close()

	fp := randomFingerprint(newRand())
	hist := newHist()
	var counter uint64
	var stale, stalest int64 // validations answered OK after the revocation's answer
	began := time.Now()
	for i, key := range keys {
		if ctx.Err() != nil {
			break
		}
		act, err := onA.Activate(ctx, key, fp, "bench-revoke", "bench")
		if err != nil {
			return fmt.Errorf("%w: activating license %d through node A: %w", ErrBroken, i+1, err)
		}
		counter++
		if _, err := onB.Validate(ctx, act.LicenseID, fp, counter, false); err != nil {
			return fmt.Errorf("%w: validating license %d through node B before its revocation: %w", ErrBroken, i+1, err)
		}
		st, err := shop.KeyOp(ctx, key, wire.KeyOpRevoke, wire.Term{})
		if err != nil {
			return fmt.Errorf("%w: revoking license %d through node A: %w", ErrBroken, i+1, err)
		}
		acked := time.Now()
		if st.Status != wire.StatusRevoked {
			return fmt.Errorf("%w: license %d is %v after its revocation", ErrBroken, i+1, st.Status)
		}
		// Validations through node B until it refuses; each one is bounded
		// by the client's timeout, the loop by a count only a hang reaches.
		var n int64
		for ; ; n++ {
			counter++
			_, err := onB.Validate(ctx, act.LicenseID, fp, counter, false)
			if s := wire.StatusOf(err); s == wire.StatusRevoked {
				break
			} else if err != nil {
				return fmt.Errorf("%w: validating license %d through node B after its revocation: %w", ErrBroken, i+1, err)
			}
			if time.Since(acked) > sideTimeout {
				return fmt.Errorf("%w: node B still validates license %d %v after its revocation (%d validations)", ErrBroken, i+1, sideTimeout, n+1)
			}
		}
		hist.RecordValue(max(1, time.Since(acked).Microseconds()))
		stale += n
		stalest = max(stalest, n)
		if cfg.Progress != nil && (i+1)%50 == 0 {
			fmt.Fprintf(cfg.Progress, "revoke-delay: %d/%d revocations, p50 %s, max %s\n", i+1, len(keys), fmtUs(usOf(hist, 50)), fmtUs(float64(hist.Max())))
		}
	}
	elapsed := time.Since(began)
	r.DurationS = elapsed.Seconds()
	r.Requests = hist.TotalCount()
	r.RequestsPerSec = float64(r.Requests) / elapsed.Seconds()
	r.hist = hist
	r.P50us, r.P90us, r.P99us, r.P999us = usOf(hist, 50), usOf(hist, 90), usOf(hist, 99), usOf(hist, 99.9)
	r.MaxUs = float64(hist.Max())
	r.MeanUs = hist.Mean()
	r.StaleValidations, r.StaleValidationsMax = &stale, &stalest
	var p99 *float64
	if r.Requests > 0 {
		p99 = ptr(r.P99us / 1000)
	}
	r.target("revocation seen by another node, p99 (ms)", "< 100", p99, func(v float64) bool { return v < 100 }, "")
	return nil
}

// mintThrough has the shop mint cfg.Revocations keys of cfg.Product, in
// orders of at most wire.MaxMintCount.
func mintThrough(ctx context.Context, shop *clients.ShopClient, cfg *Config) ([]keygen.Key, error) {
	var run [4]byte
	rand.Read(run[:])
	var keys []keygen.Key
	for n := 1; len(keys) < cfg.Revocations; n++ {
		batch := min(cfg.Revocations-len(keys), wire.MaxMintCount)
		ks, err := shop.Mint(ctx, fmt.Sprintf("bench-revoke-%s-%d", hex.EncodeToString(run[:]), n), cfg.Product, batch, clients.MintSpec{Seats: 1})
		if err != nil {
			return nil, fmt.Errorf("%w: the shop minting through node A: %w", ErrSetup, err)
		}
		keys = append(keys, ks...)
	}
	return keys, nil
}
