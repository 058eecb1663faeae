package gateway_test

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/wire"
)

// refusedLine matches a WARN line about shop "far"; a line without a
// count (as the gateway wrote before refusals were counted) counts one.
var refusedLine = regexp.MustCompile(`(?m)level=WARN msg="shop refused[^"]*" shop=far .*?(?:count=(\d+)|$)`)

// TestShopRefusalsSummarised: 2,000 KK handshakes of a registered shop
// from an address outside its networks (each refused by the IP lock before
// any Diffie-Hellman) leave a handful of WARN lines and audit entries,
// whose counts add up to 2,000, the last written when the gateway stops;
// not a line and an entry per connection.
func TestShopRefusalsSummarised(t *testing.T) {
	t.Parallel()
	const attempts, conns = 2000, 4
	start := time.Now()
	g := startShopGateway(t)
	farKey := g.registerShop(t, "far", 0, "127.0.0.2/32") // the test connects from 127.0.0.1
	ctx := hang.Context(t)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := channel.Dial(ctx, g.card.Address, channel.ClientTLSConfig(g.card.TLSPin), channel.Limits{})
			if err != nil {
				errs <- err
				return
			}
			defer conn.CloseWithError(0, "")
			for i := c; i < attempts; i += conns {
				sess, err := channel.OpenSession(ctx, conn, channel.Config{Pattern: channel.PatternKK, Static: farKey, RemoteStatic: g.card.NoiseKey})
				var re *channel.RefusedError
				if !errors.As(err, &re) || re.Code != uint16(wire.StatusShopNotAllowed) {
					if sess != nil {
						sess.Close()
					}
					errs <- fmt.Errorf("handshake %d: %v, want refused with SHOP_NOT_ALLOWED", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	dir := g.srv.Identity().Dir
	g.stop() // the tally still held is written on the way down
	// The first refusal is written at once, the rest once a minute and at
	// the stop: a handful however loaded the machine, and the longer the
	// test took, the more minutes it spans (never near one per connection).
	most := 3 + int(time.Since(start)/time.Minute)

	lines, sum := 0, 0
	for _, m := range refusedLine.FindAllStringSubmatch(g.logs.String(), -1) {
		n := 1
		if m[1] != "" {
			n, _ = strconv.Atoi(m[1])
		}
		lines, sum = lines+1, sum+n
	}
	if sum != attempts || lines < 1 || lines > most {
		t.Errorf("%d WARN lines counting %d refusals; want 1 to %d counting %d", lines, sum, most, attempts)
	}
	st, err := gateway.OpenStore(dir, gateway.StoreOptions{CacheEntries: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log, err := st.AuditLog(0)
	if err != nil {
		t.Fatal(err)
	}
	entries, sum := 0, 0
	for _, e := range log {
		if e.Kind != "shop.refused" || e.Shop != "far" {
			continue
		}
		n := 1 // an entry per connection, as before refusals were counted
		if _, err := fmt.Sscanf(e.Detail, "%d connection(s) from 127.0.0.1 outside its networks", &n); err != nil {
			n = 1
		}
		entries, sum = entries+1, sum+n
	}
	if sum != attempts || entries < 1 || entries > most {
		t.Fatalf("%d audit entries counting %d refusals; want 1 to %d counting %d", entries, sum, most, attempts)
	}
}
