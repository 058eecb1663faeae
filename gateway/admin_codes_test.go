package gateway

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// TestAdminCodesRoundTrip: every error of the code table, met by an
// operation, comes back through a real admin socket (and from the
// in-process client) with its entry's code and sentence, matching every
// error of its entry and none of another; an error of no entry comes back
// as its sentence, matching none.
func TestAdminCodesRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	id, err := Init(dir, composite.MLDSA44Ed25519, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := OpenStore(dir, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The error the operation meets: shop.add fails with what reloading
	// the shops returns.
	var fail atomic.Pointer[error]
	a := &Admin{St: st, Hasher: id.Hasher, Reload: func() error { return *fail.Load() }}
	ln, err := listenAdmin(dir)
	if err != nil {
		t.Fatal(err)
	}
	as := &adminServer{ln: ln, path: AdminSocketPath(dir), a: a, log: slog.New(slog.NewTextHandler(io.Discard, nil)), conns: make(map[net.Conn]struct{})}
	go as.serve()
	defer as.close()
	sock, err := DialAdmin(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	shop := adminapi.Shop{Name: "s", PublicKey: k.Public().String(), Networks: []string{"127.0.0.1"}, Products: []string{"1AJS2"}}
	// shop.update then meets the error each time: the shop exists, its
	// product is in the catalogue.
	var none error
	fail.Store(&none)
	if err := st.AddProduct(store.Product{Code: "1AJS2", Name: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Client().AddShop(shop); err != nil {
		t.Fatal(err)
	}

	codes := map[adminapi.Code]bool{}
	for _, e := range adminCodes {
		if codes[e.code] || e.code == "" || len(e.errs) == 0 {
			t.Errorf("code %q: used twice, empty, or of no error", e.code)
		}
		codes[e.code] = true
		for _, sent := range e.errs {
			met := fmt.Errorf("%w: in a test", sent)
			fail.Store(&met)
			for name, c := range map[string]*adminapi.Client{"socket": sock, "in process": a.Client()} {
				err := c.UpdateShop(shop)
				if err == nil || err.Error() != met.Error() {
					t.Errorf("%s, %s: %v; want %q", name, e.code, err, met)
					continue
				}
				if got := adminCode(err); got != e.code {
					t.Errorf("%s: %q came back as an error of code %q", name, e.code, got)
				}
				for _, o := range adminCodes {
					for _, target := range o.errs {
						if errors.Is(err, target) != (o.code == e.code) {
							t.Errorf("%s: an error of code %q: errors.Is(err, %v) = %v", name, e.code, target, !(o.code == e.code))
						}
					}
				}
				var se *service.Error
				if _, isService := sent.(*service.Error); isService && (!errors.As(err, &se) || se.Msg != met.Error()) {
					t.Errorf("%s: an error of code %q is no refusal saying %q: %#v", name, e.code, met, se)
				}
			}
		}
	}
	met := errors.New("the disk is on fire")
	fail.Store(&met)
	err = sock.UpdateShop(shop)
	if err == nil || err.Error() != met.Error() || adminCode(err) != "" {
		t.Errorf("an error of no code came back as %v, code %q", err, adminCode(err))
	}
}
