package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// defaultCheckout is a new floating product's checkout time when
// --checkout is not given.
const defaultCheckout = 15 * time.Minute

// floatingFlags defines product add/update's --floating and --checkout and
// returns the function that applies them after the other flags.
func floatingFlags(fs *flag.FlagSet) func(p *store.Product, add bool, set map[string]bool) error {
	floating := fs.Bool("floating", false, "floating (concurrent) seats: checked out for --checkout, renewed by heartbeats, free again when they stop")
	checkout := fs.Duration("checkout", defaultCheckout, fmt.Sprintf("a floating seat's checkout time, %ds to %dh, such as 15m (sets the lease lifetime)", store.MinCheckoutSeconds, store.MaxCheckoutSeconds/3600))
	return func(p *store.Product, add bool, set map[string]bool) error {
		if set["checkout"] {
			if *checkout < store.MinCheckoutSeconds*time.Second || *checkout > store.MaxCheckoutSeconds*time.Second || *checkout%time.Second != 0 {
				return usageError("--checkout must be whole seconds from %ds to %dh, not %v", store.MinCheckoutSeconds, store.MaxCheckoutSeconds/3600, *checkout)
			}
			if set["lease-days"] {
				return usageError("--checkout and --lease-days both set the lease lifetime: give one")
			}
		}
		if add || set["floating"] {
			p.Policy.Floating = *floating
		}
		if p.Policy.Floating && (set["checkout"] || add) {
			p.Policy.LeaseSeconds = uint32(*checkout / time.Second)
		}
		if !p.Policy.Floating && set["checkout"] {
			return usageError("--checkout is the checkout time of floating seats: give --floating too")
		}
		return nil
	}
}

// floatingSummary says a floating license's seats: how many are held now.
func floatingSummary(l adminapi.License, now int64) string {
	held := 0
	for _, s := range service.FloatingSeats(l.Activations, now) {
		if s.Held {
			held++
		}
	}
	return fmt.Sprintf("%d held of %d floating (%d machine(s) bound)", held, l.License.Seats, len(l.Activations))
}

// printFloatingSeats lists a floating license's bindings: the seats held
// and until when, then the machines bound that hold none.
func printFloatingSeats(w io.Writer, l adminapi.License, now int64) {
	for _, s := range service.FloatingSeats(l.Activations, now) {
		if s.Held {
			fmt.Fprintf(w, "  seat held   %s  %s  until %s\n", s.Machine, s.Hostname, unixOr(s.Until, "?"))
		} else {
			fmt.Fprintf(w, "  no seat     %s  %s  last held until %s, last seen %s\n", s.Machine, s.Hostname, unixOr(s.Until, "never"), unixOr(s.LastSeen, "never"))
		}
	}
}

// licenseJSON is license show's --json answer: the license and, for a
// floating license, its seats.
type licenseJSON struct {
	adminapi.License
	FloatingSeats []service.FloatingSeat `json:"floating_seats,omitempty"`
}

func asLicenseJSON(l adminapi.License) any {
	out := licenseJSON{License: l}
	if l.License.Policy.Floating {
		out.FloatingSeats = service.FloatingSeats(l.Activations, time.Now().Unix())
	}
	return out
}
