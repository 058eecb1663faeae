package service

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// mintProduct mints one key of catalogue product code with its spec.
func mintProduct(t *testing.T, s *Service, code string) (keygen.Key, store.LicenseID) {
	t.Helper()
	prod, err := s.st.ProductByCode(code)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := keygen.ParseProductCode(code)
	keys, err := MintKeys(s.st, s.keys.Hasher, p, 1, ProductSpec(&prod), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return keys[0], store.IDFor(s.keys.Hasher.Hash(keys[0]))
}

// TestBundleLease: a key of the demo suite (1SJS2) activates, and its
// lease covers Pro and Firewall, carrying each one's entitlements scoped
// by its code beside the suite's own.
func TestBundleLease(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	if _, err := LoadDemoCatalogue(s.st); err != nil {
		t.Fatal(err)
	}
	key, _ := mintProduct(t, s, "1SJS2")
	p := newInstall(t)
	a, err := s.Activate(&wire.ActivateRequest{Key: key, Fingerprint: testFingerprint()}, &p)
	if err != nil {
		t.Fatalf("activate the suite's key: %v", err)
	}
	lease, err := wire.VerifyLease(a.Lease, []*composite.PublicKey{s.keys.LeaseKey.Public()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"1SJS2", "1CJS2", "1FJS2"} {
		if !lease.HasProduct([wire.ProductSize]byte([]byte(c))) {
			t.Errorf("the suite's lease does not cover %s", c)
		}
	}
	if lease.HasProduct([wire.ProductSize]byte([]byte("1AJS2"))) {
		t.Error("the suite's lease covers Lite, which the suite does not include")
	}
	var ents []string
	for e := range lease.Entitlements.All() {
		ents = append(ents, string(e))
	}
	want := []string{"1cjs2.quarantine", "1cjs2.scan", "1cjs2.update", "1fjs2.firewall", "1fjs2.update", "suite"}
	if !slices.Equal(ents, want) {
		t.Errorf("the suite's entitlements: %q, want %q", ents, want)
	}
}

// TestPluginNeedsBase: a Mail Shield key (a plug-in of Pro) is refused
// BASE_MISSING without a base license, with one of another product, with a
// Pro license activated on another install, and with a revoked one; it
// activates beside a Pro license or a suite license activated on the same
// install.
func TestPluginNeedsBase(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	if _, err := LoadDemoCatalogue(s.st); err != nil {
		t.Fatal(err)
	}
	fp := testFingerprint()
	activate := func(key keygen.Key, base store.LicenseID, p *Peer) error {
		_, err := s.Activate(&wire.ActivateRequest{Key: key, Fingerprint: fp, Base: base}, p)
		return err
	}
	plugin, _ := mintProduct(t, s, "1MJS2")
	if lic, err := s.st.LicenseByKeyHash(s.keys.Hasher.Hash(plugin)); err != nil || lic.Base != "1CJS2" {
		t.Fatalf("the plug-in's license: base %q, %v; want 1CJS2 copied at mint", lic.Base, err)
	}
	pro, proID := mintProduct(t, s, "1CJS2")
	lite, liteID := mintProduct(t, s, "1AJS2")
	p, other := newInstall(t), newInstall(t)
	if err := activate(pro, store.LicenseID{}, &other); err != nil {
		t.Fatal(err)
	}
	if err := activate(lite, store.LicenseID{}, &p); err != nil {
		t.Fatal(err)
	}
	for name, base := range map[string]store.LicenseID{
		"no base named":          {},
		"an unknown license":     {1, 2, 3},
		"a license of Lite":      liteID,
		"Pro on another install": proID,
	} {
		err := activate(plugin, base, &p)
		if !errors.Is(err, ErrBaseMissing) || KindOf(err).Status() != wire.StatusBaseMissing {
			t.Errorf("%s: %v, want BASE_MISSING", name, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "activate 1CJS2 here first") {
			t.Errorf("%s: the refusal does not say what to do: %q", name, msg)
		}
	}
	if as, err := s.st.Activations(store.IDFor(s.keys.Hasher.Hash(plugin))); err != nil || len(as) != 0 {
		t.Fatalf("a refused plug-in activation took a seat: %d, %v", len(as), err)
	}

	// Pro activated on this install too: the plug-in activates beside it.
	if err := activate(pro, store.LicenseID{}, &p); err == nil {
		t.Fatal("a one-seat Pro key activated on a second install")
	}
	pro2, pro2ID := mintProduct(t, s, "1CJS2")
	if err := activate(pro2, store.LicenseID{}, &p); err != nil {
		t.Fatal(err)
	}
	if err := activate(plugin, pro2ID, &p); err != nil {
		t.Fatalf("the plug-in beside Pro on the same install: %v", err)
	}

	// A revoked base: the plug-in (a second key) is refused.
	if _, err := ApplyLicenseOp(s.st, s.keys.Hasher, pro2, OpRevoke, store.Term{}, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	plugin2, _ := mintProduct(t, s, "1MJS2")
	if err := activate(plugin2, pro2ID, &p); !errors.Is(err, ErrBaseMissing) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("beside a revoked Pro: %v, want BASE_MISSING saying it was revoked", err)
	}

	// A suite license covers Pro: it is a base as good as Pro's own.
	suite, suiteID := mintProduct(t, s, "1SJS2")
	q := newInstall(t)
	if err := activate(suite, store.LicenseID{}, &q); err != nil {
		t.Fatal(err)
	}
	if err := activate(plugin2, suiteID, &q); err != nil {
		t.Fatalf("the plug-in beside the suite: %v", err)
	}
}

// TestCatalogueBundleAndBase: the catalogue refuses a bundle of unknown,
// plug-in or bundle products and a plug-in of an unknown product, of
// itself or of a plug-in, and completes a bundle's entitlements scoped,
// keeping those the operator scoped.
func TestCatalogueBundleAndBase(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	if _, err := LoadDemoCatalogue(s.st); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]store.Product{
		"bundle of an unknown product": {Code: "2AJS2", Name: "x", Bundle: []string{"9ZZZ9"}},
		"bundle of a plug-in":          {Code: "2AJS2", Name: "x", Bundle: []string{"1MJS2"}},
		"bundle of a bundle":           {Code: "2AJS2", Name: "x", Bundle: []string{"1SJS2"}},
		"plug-in of an unknown":        {Code: "2AJS2", Name: "x", Base: "9ZZZ9"},
		"plug-in of itself":            {Code: "2AJS2", Name: "x", Base: "2AJS2"},
		"plug-in of a plug-in":         {Code: "2AJS2", Name: "x", Base: "1MJS2"},
		"both":                         {Code: "2AJS2", Name: "x", Base: "1CJS2", Bundle: []string{"1AJS2"}},
	} {
		if err := CheckCatalogueProduct(s.st, &p); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	p := store.Product{Code: "2AJS2", Name: "x", Bundle: []string{"1AJS2", "1BJS2"}, Entitlements: []string{"1ajs2.only", "own"}}
	if err := CheckCatalogueProduct(s.st, &p); err != nil {
		t.Fatal(err)
	}
	want := []string{"1ajs2.only", "own", "1bjs2.scan", "1bjs2.update"}
	if !slices.Equal(p.Entitlements, want) {
		t.Errorf("entitlements %q, want %q", p.Entitlements, want)
	}
	plug := store.Product{Code: "2BJS2", Name: "x", Base: "1ajs2"}
	if err := CheckCatalogueProduct(s.st, &plug); err != nil || plug.Base != "1AJS2" {
		t.Errorf("a plug-in of Lite: base %q, %v", plug.Base, err)
	}
}
