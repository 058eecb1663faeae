package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// target is the gateway under load: where it is and, when known, which
// process it is.
type target struct {
	card     *wire.Card // Address set to where it listens (the first node)
	pid      int        // zero: unknown, nothing measured
	gw       *child     // the embedded gateway, nil with Config.Addr
	dir      string     // the embedded gateway's data directory
	keys     []keygen.Key
	shopKeys []channel.PrivateKey

	// others are the embedded gateway's further nodes (Config.Nodes),
	// which share its store and identity; addrs are where every node
	// listens, the first node first.
	others []*child
	addrs  []string
}

// addr returns where the i-th connection of a load goes: the nodes in
// turn.
func (t *target) addr(i int) string {
	if len(t.addrs) == 0 {
		return t.card.Address
	}
	return t.addrs[i%len(t.addrs)]
}

// cardOf returns the card of node i (mod the nodes).
func (t *target) cardOf(i int) *wire.Card {
	c := *t.card
	c.Address = t.addr(i)
	return &c
}

// need says what a scenario needs prepared on an embedded gateway.
type need struct {
	keys  int // licenses minted (straight into the store)
	shops int // shops registered, each with its own key
}

// prepare returns the gateway to load: the one at cfg.Addr, or a new
// embedded one with what n asks for.
func prepare(ctx context.Context, cfg *Config, n need) (*target, error) {
	if cfg.Addr != "" {
		card := *cfg.Card
		card.Address = cfg.Addr
		t := &target{card: &card, pid: cfg.PID, keys: cfg.Keys, addrs: []string{card.Address}}
		if !cfg.ShopKey.IsZero() {
			t.shopKeys = []channel.PrivateKey{cfg.ShopKey}
		}
		return t, nil
	}
	return prepareEmbedded(ctx, cfg, n)
}

// prepareEmbedded makes a gateway in a temporary directory (identity, the
// demo catalogue, n.keys licenses of cfg.Product with one seat, n.shops
// shops allowed on 127.0.0.1 without quota) and serves it from a child
// process; with cfg.Store its state goes to that database, and with
// cfg.Nodes further children serve it too, each from a directory holding
// a copy of the identity.
func prepareEmbedded(ctx context.Context, cfg *Config, n need) (t *target, err error) {
	dir, err := os.MkdirTemp("", "tollgate-bench-")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	t = &target{dir: dir}
	defer func() {
		if err != nil {
			t.close()
			t = nil
		}
	}()
	id, err := gateway.Init(dir, cfg.Scheme, "127.0.0.1:7443")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.Store != "" {
		if err := gateway.WriteStoreURL(dir, cfg.Store); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSetup, err)
		}
	}
	st, err := gateway.OpenStore(dir, gateway.StoreOptions{Logger: quiet, URL: cfg.Store, Migrate: cfg.Store != ""})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	if err := fillStore(st, id, cfg, n, t); err != nil {
		st.Close()
		return nil, err
	}
	if err := st.Close(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	env := []string{envDir + "=" + dir}
	if cfg.GatewayCacheEntries > 0 {
		env = append(env, fmt.Sprintf("%s=%d", envCache, cfg.GatewayCacheEntries))
	}
	if cfg.GatewayNoAdmission {
		env = append(env, envNoAdmission+"=1")
	}
	if cfg.GatewayLeaseBatch > 0 {
		env = append(env, fmt.Sprintf("%s=%d", envLeaseBatch, cfg.GatewayLeaseBatch))
	}
	for _, p := range []struct{ env, path string }{{envProfile, cfg.GatewayCPUProfile}, {envHeap, cfg.GatewayMemProfile}, {envTrace, cfg.GatewayTrace}} {
		if p.path == "" {
			continue
		}
		abs, err := filepath.Abs(p.path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		env = append(env, p.env+"="+abs)
	}
	if t.gw, err = startChild(ctx, childServe, env...); err != nil {
		return nil, err
	}
	card := *id.Card
	card.Address = t.gw.addr
	if t.gw.pin != card.TLSPin {
		return nil, fmt.Errorf("%w: the gateway's pin is not its card's", ErrChild)
	}
	t.card, t.pid, t.addrs = &card, t.gw.pid(), []string{t.gw.addr}
	for k := 2; k <= cfg.Nodes; k++ {
		// Another node: a copy of the identity and of the store's
		// connection string; no profile (the first node's is the one).
		ndir := filepath.Join(dir, fmt.Sprintf("node%d", k))
		if err := copyIdentity(dir, ndir); err != nil {
			return nil, err
		}
		nenv := []string{envDir + "=" + ndir}
		for _, e := range env[1:] {
			if !strings.HasPrefix(e, envProfile+"=") && !strings.HasPrefix(e, envHeap+"=") && !strings.HasPrefix(e, envTrace+"=") {
				nenv = append(nenv, e)
			}
		}
		c, err := startChild(ctx, childServe, nenv...)
		if err != nil {
			return nil, err
		}
		t.others = append(t.others, c)
		if c.pin != card.TLSPin {
			return nil, fmt.Errorf("%w: node %d's pin is not the card's", ErrChild, k)
		}
		t.addrs = append(t.addrs, c.addr)
	}
	return t, nil
}

// copyIdentity gives the new data directory to the identity files and the
// shared store's connection string of the one in from, as an operator
// gives each node of a deployment.
func copyIdentity(from, to string) error {
	if err := os.Mkdir(to, 0o700); err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	for _, name := range append(gateway.IdentityFiles[:len(gateway.IdentityFiles):len(gateway.IdentityFiles)], gateway.FileStore) {
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			return fmt.Errorf("%w: copying the identity: %w", ErrSetup, err)
		}
		if err := os.WriteFile(filepath.Join(to, name), b, gateway.FileMode(name)); err != nil {
			return fmt.Errorf("%w: copying the identity: %w", ErrSetup, err)
		}
	}
	return nil
}

func fillStore(st *store.Store, id *gateway.Identity, cfg *Config, n need, t *target) error {
	if _, err := service.LoadDemoCatalogue(st); err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	p, err := keygen.ParseProductCode(cfg.Product)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	t.keys = make([]keygen.Key, 0, n.keys)
	for len(t.keys) < n.keys {
		batch := min(n.keys-len(t.keys), wire.MaxMintCount)
		keys, err := service.MintKeys(st, id.Hasher, p, batch, service.Spec{Seats: 1}, time.Now())
		if err != nil {
			return fmt.Errorf("%w: minting: %w", ErrSetup, err)
		}
		t.keys = append(t.keys, keys...)
	}
	admin := (&gateway.Admin{St: st, Hasher: id.Hasher}).Client()
	for i := range n.shops {
		k, err := channel.GenerateKey(rand.Reader)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrSetup, err)
		}
		err = admin.AddShop(adminapi.Shop{
			Name: fmt.Sprintf("bench-shop-%d", i+1), PublicKey: k.Public().String(),
			Networks: []string{"127.0.0.1/32"}, Products: []string{cfg.Product},
		})
		if err != nil {
			return fmt.Errorf("%w: registering a shop: %w", ErrSetup, err)
		}
		t.shopKeys = append(t.shopKeys, k)
	}
	return nil
}

// cpu returns the gateway's CPU time so far, every node's together, if it
// can be measured.
func (t *target) cpu() (time.Duration, bool) {
	if t.pid == 0 {
		return 0, false
	}
	d, err := procCPU(t.pid)
	for _, c := range t.others {
		if err == nil {
			var e time.Duration
			e, err = procCPU(c.pid())
			d += e
		}
	}
	return d, err == nil
}

// rss returns the gateway's resident memory, every node's together, if it
// can be measured.
func (t *target) rss() (int64, bool) {
	if t.pid == 0 {
		return 0, false
	}
	b, err := procRSS(t.pid)
	for _, c := range t.others {
		if err == nil {
			var e int64
			e, err = procRSS(c.pid())
			b += e
		}
	}
	return b, err == nil
}

// close stops the embedded gateway and removes its directory. Once
// closed, the target measures nothing more; it may be closed again.
func (t *target) close() error {
	var err error
	for _, c := range t.others {
		if cerr := c.stop(); cerr != nil && err == nil {
			err = cerr
		}
	}
	t.others = nil
	if t.gw != nil {
		if gerr := t.gw.stop(); gerr != nil && err == nil {
			err = gerr
		}
		t.pid = 0
	}
	if t.dir != "" {
		os.RemoveAll(t.dir)
		t.dir = ""
	}
	return err
}

// echo is the ceiling's server, a child process.
type echo struct {
	c *child
}

func startEcho(ctx context.Context) (*echo, error) {
	c, err := startChild(ctx, childEcho)
	if err != nil {
		return nil, err
	}
	return &echo{c: c}, nil
}

func (e *echo) tls() *tlsPin { return &tlsPin{addr: e.c.addr, pin: e.c.pin} }

// tlsPin is where a server is and the pin of its certificate.
type tlsPin struct {
	addr string
	pin  [32]byte
}

// dial opens a QUIC connection as an app does: its own UDP socket, the
// gateway's TLS pin, the channel's limits with keep-alives.
func dial(ctx context.Context, addr string, pin [32]byte) (*quic.Conn, error) {
	return channel.Dial(ctx, addr, channel.ClientTLSConfig(pin), channel.Limits{})
}
