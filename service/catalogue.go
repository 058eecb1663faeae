package service

import (
	"errors"
	"fmt"

	"github.com/tollgate/tollgate/store"
)

// DemoCatalogue returns the seed's VSE 2.1 products: Lite (1A), Basic (1B)
// and Pro (1C) for Windows (J), in 1, 10 and 50 client editions (S2, S3,
// S4), each licensed for one year, and Pro with 10 floating seats (1FJS3);
// Pro for one client (1CJS2) offers a 14-day keyless trial with "scan"
// only; then a bundle and a plug-in (demoBundleAndPlugin).
func DemoCatalogue() []store.Product {
	editions := []struct {
		letter, name string
		ents         []string
	}{
		{"A", "Lite", []string{"scan"}},
		{"B", "Basic", []string{"scan", "update"}},
		{"C", "Pro", []string{"quarantine", "scan", "update"}},
	}
	sizes := []struct {
		digit string
		seats uint32
	}{{"2", 1}, {"3", 10}, {"4", 50}}
	var out []store.Product
	// Pro for one client offers a 14-day keyless trial that scans only.
	trial := map[string]*store.TrialOffer{"1CJS2": {Days: 14, Entitlements: []string{"scan"}}}
	for _, e := range editions {
		for _, s := range sizes {
			clients := "clients"
			if s.seats == 1 {
				clients = "client"
			}
			out = append(out, store.Product{
				Code:         "1" + e.letter + "JS" + s.digit,
				Name:         fmt.Sprintf("VSE 2.1 %s for Windows, %d %s, 1 year", e.name, s.seats, clients),
				Platform:     "windows",
				Term:         store.Term{Kind: store.TermYears, Value: 1},
				Seats:        s.seats,
				Entitlements: e.ents,
				Policy:       store.Policy{Level: 2, LeaseSeconds: 7 * 24 * 3600},
				TrialOffer:   trial["1"+e.letter+"JS"+s.digit],
			})
		}
	}
	// A floating edition: 10 concurrent seats, any number of machines,
	// each seat checked out for 15 minutes and renewed by heartbeats.
	out = append(out, store.Product{
		Code:         "1FJS3",
		Name:         "VSE 2.1 Pro for Windows, 10 concurrent (floating) clients, 1 year",
		Platform:     "windows",
		Term:         store.Term{Kind: store.TermYears, Value: 1},
		Seats:        10,
		Entitlements: []string{"quarantine", "scan", "update"},
		Policy:       store.Policy{Level: 1, LeaseSeconds: 15 * 60, Floating: true},
	})
	out = append(out, demoBundleAndPlugin(out)...)
	return out
}

// demoBundleAndPlugin returns the demo's bundle and plug-in, for a
// catalogue that already holds VSE 2.1 Pro (1CJS2): VSE 2.1 Firewall
// (1FJS2), the VSE 2.1 Suite (1SJS2), one key that licenses Pro and
// Firewall each with its own entitlements, and Mail Shield (1MJS2), a
// plug-in of Pro.
func demoBundleAndPlugin(catalogue []store.Product) []store.Product {
	year := store.Term{Kind: store.TermYears, Value: 1}
	policy := store.Policy{Level: 2, LeaseSeconds: 7 * 24 * 3600}
	firewall := store.Product{Code: "1FJS2", Name: "VSE 2.1 Firewall for Windows, 1 client, 1 year", Platform: "windows",
		Term: year, Seats: 1, Entitlements: []string{"firewall", "update"}, Policy: policy}
	covered := []store.Product{firewall}
	for _, p := range catalogue {
		if p.Code == "1CJS2" {
			covered = append([]store.Product{p}, covered...)
		}
	}
	codes := make([]string, len(covered))
	for i, p := range covered {
		codes[i] = p.Code
	}
	suite := store.Product{Code: "1SJS2", Name: "VSE 2.1 Suite for Windows (Pro and Firewall), 1 client, 1 year", Platform: "windows",
		Term: year, Seats: 1, Entitlements: BundleEntitlements([]string{"suite"}, covered), Bundle: codes, Policy: policy}
	mail := store.Product{Code: "1MJS2", Name: "VSE 2.1 Mail Shield plug-in for VSE 2.1 Pro, 1 client, 1 year", Platform: "windows",
		Term: year, Seats: 1, Entitlements: []string{"mail-scan"}, Base: "1CJS2", Policy: policy}
	return []store.Product{firewall, suite, mail}
}

// LoadDemoCatalogue adds the demo products missing from st's catalogue and
// returns how many it added; existing entries are left as they are.
func LoadDemoCatalogue(st *store.Store) (int, error) {
	n := 0
	for _, p := range DemoCatalogue() {
		if _, err := st.ProductByCode(p.Code); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return n, err
		}
		if err := st.AddProduct(p); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
