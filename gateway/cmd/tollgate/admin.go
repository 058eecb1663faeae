package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/store"
)

// cmdAdmin parses an operator command into a gateway.AdminRequest, runs it
// with gateway.AdminDo (directly or through the admin socket) and prints
// the answer.
func cmdAdmin(group string, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if group != "audit" && group != "stats" {
		if len(args) == 0 {
			return fmt.Errorf("usage: tollgate %s SUBCOMMAND --data DIR ...; run 'tollgate help'", group)
		}
		sub, args = args[0], args[1:]
	}
	fs := newFlags(strings.TrimSpace(group+" "+sub)+" --data DIR [flags]", "An operator command; see 'tollgate help'.", stderr)
	data := fs.String("data", "", "data directory (required)")
	req := gateway.AdminRequest{Cmd: group + "." + sub}
	var finish func() error
	var asJSON *bool
	switch group + " " + sub {
	case "stats ":
		req.Cmd = "stats"
		asJSON = fs.Bool("json", false, "print one JSON object instead of a line a counter")
		finish = func() error {
			if fs.NArg() != 0 {
				return errors.New("usage: tollgate stats --data DIR [--json]")
			}
			return nil
		}
	case "product add":
		p := &store.Product{}
		code := fs.String("code", "", "5-character product code (required)")
		fs.StringVar(&p.Name, "name", "", "product name (required)")
		fs.StringVar(&p.Platform, "platform", "", "platform, such as windows or linux")
		years := fs.Uint("years", 0, "default term in years (default 1)")
		months := fs.Uint("months", 0, "default term in months (subscriptions)")
		perpetual := fs.Bool("perpetual", false, "perpetual by default")
		trial := fs.Uint("trial-days", 0, "trial licenses of this many days from first activation")
		seats := fs.Uint("seats", 1, "default seats per key")
		maxSeats := fs.Uint("max-seats", 0, fmt.Sprintf("the most seats a key may carry (default %d; above that only with --site-license, up to %d)", store.DefaultMaxSeats, store.SiteSeatCeiling))
		fs.BoolVar(&p.SiteLicense, "site-license", false, "a site license: --max-seats may exceed "+fmt.Sprint(store.DefaultMaxSeats)+" and must be given")
		level := fs.Uint("level", 1, "validation level 1, 2 or 3")
		online := fs.Uint("online-days", 0, "level 3: server check required within this many days")
		warn := fs.Uint("warn-days", 0, "level 3: warn this many days before")
		lease := fs.Uint("lease-days", 7, "lifetime of a signed lease, in days")
		var features, bundle multi
		fs.Var(&features, "feature", "default entitlement (repeatable)")
		fs.Var(&bundle, "bundle", "further product code a key licenses (repeatable)")
		finish = func() error {
			p.Code = strings.ToUpper(*code)
			p.Seats, p.MaxSeats = clampSeats(*seats), clampSeats(*maxSeats)
			p.Entitlements, p.Bundle = features, bundle
			p.TrialDays = uint16(*trial)
			p.Policy = store.Policy{Level: uint8(*level), OnlineDays: uint16(*online), WarnDays: uint16(*warn), LeaseSeconds: uint32(*lease) * 86400}
			switch {
			case *perpetual:
				p.Term = store.Term{Kind: store.TermPerpetual}
			case *months > 0:
				p.Term = store.Term{Kind: store.TermMonths, Value: uint16(*months)}
			case *years > 0:
				p.Term = store.Term{Kind: store.TermYears, Value: uint16(*years)}
			default:
				p.Term = store.Term{Kind: store.TermYears, Value: 1}
			}
			if *level < 1 || *level > 3 {
				return errors.New("--level must be 1, 2 or 3")
			}
			req.Product = p
			return nil
		}
	case "product list", "shop list", "audit ":
		if group == "audit" {
			req.Cmd = "audit"
			since := fs.String("since", "", "only entries from this time (RFC 3339) or this long ago (a duration such as 24h)")
			verify := fs.Bool("verify", false, "check the hash chain instead of listing")
			finish = func() error {
				if *verify {
					req.Cmd = "audit.verify"
				}
				if *since != "" {
					if d, err := time.ParseDuration(*since); err == nil {
						req.Since = time.Now().Add(-d).Unix()
					} else if t, err := time.Parse(time.RFC3339, *since); err == nil {
						req.Since = t.Unix()
					} else {
						return errors.New("--since: want an RFC 3339 time or a duration")
					}
				}
				return nil
			}
		}
	case "product show", "shop remove":
		finish = func() error {
			if fs.NArg() != 1 {
				return fmt.Errorf("usage: tollgate %s %s --data DIR NAME", group, sub)
			}
			req.Name = fs.Arg(0)
			if group == "product" {
				req.Name = strings.ToUpper(req.Name)
			}
			return nil
		}
	case "shop add":
		sh := &gateway.AdminShop{}
		fs.StringVar(&sh.Name, "name", "", "shop name (required)")
		key := fs.String("key", "", "the shop's public key, noisepub:... or the .pub file tollgate-shop keygen wrote (required)")
		quota := fs.Uint("quota", 0, "keys the shop may mint per UTC day (0: no bound)")
		var networks, products multi
		fs.Var(&networks, "network", "CIDR prefix or address the shop connects from (repeatable, required)")
		fs.Var(&products, "product", "product code the shop may mint (repeatable, required)")
		finish = func() error {
			sh.PublicKey = *key
			if !strings.HasPrefix(*key, "noisepub:") {
				b, err := os.ReadFile(*key)
				if err != nil {
					return fmt.Errorf("--key: %w", err)
				}
				sh.PublicKey = strings.TrimSpace(string(b))
			}
			sh.Networks = networks
			for _, p := range products {
				sh.Products = append(sh.Products, strings.ToUpper(p))
			}
			sh.DailyQuota = uint32(*quota)
			req.Shop = sh
			return nil
		}
	case "license flagged":
		finish = func() error {
			if fs.NArg() != 0 {
				return errors.New("usage: tollgate license flagged --data DIR")
			}
			return nil
		}
	case "license show", "license suspend", "license resume", "license revoke", "license renew", "license reset", "license unflag":
		years := fs.Uint("years", 0, "renew: extend by this many years (default: the product's term)")
		months := fs.Uint("months", 0, "renew: extend by this many months")
		finish = func() error {
			if fs.NArg() != 1 {
				return fmt.Errorf("usage: tollgate license %s --data DIR KEY", sub)
			}
			req.Key = fs.Arg(0)
			switch {
			case *months > 0:
				req.Term = store.Term{Kind: store.TermMonths, Value: uint16(*months)}
			case *years > 0:
				req.Term = store.Term{Kind: store.TermYears, Value: uint16(*years)}
			}
			return nil
		}
	default:
		return fmt.Errorf("unknown command %q; run 'tollgate help'", strings.TrimSpace(group+" "+sub))
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("--data is required")
	}
	if finish != nil {
		if err := finish(); err != nil {
			return err
		}
	}
	resp, err := gateway.AdminDo(*data, req)
	if err != nil {
		return err
	}
	if asJSON != nil && *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(resp.Stats)
	}
	return printAdmin(stdout, req, resp)
}

// clampSeats converts a seat flag, keeping a count too large for the
// store's 32 bits too large (the store then refuses it with the range
// allowed) instead of wrapping it around.
func clampSeats(n uint) uint32 { return uint32(min(n, math.MaxUint32)) }

func printAdmin(w io.Writer, req gateway.AdminRequest, resp gateway.AdminResponse) error {
	switch req.Cmd {
	case "product.add":
		fmt.Fprintf(w, "product %s saved\n", req.Product.Code)
	case "product.list", "product.show":
		for _, p := range resp.Products {
			fmt.Fprintf(w, "%s  %-50s %-8s %s, %d seat(s) (at most %d", p.Code, p.Name, p.Platform, p.DefaultTerm(), p.Seats, p.SeatLimit())
			if p.SiteLicense {
				fmt.Fprint(w, ", site license")
			}
			fmt.Fprint(w, ")")
			if len(p.Entitlements) > 0 {
				fmt.Fprintf(w, "  features %s", strings.Join(p.Entitlements, ","))
			}
			fmt.Fprintf(w, "  level %d\n", p.Policy.Level)
		}
	case "shop.add":
		fmt.Fprintf(w, "shop %s registered\n", req.Shop.Name)
	case "shop.remove":
		fmt.Fprintf(w, "shop %s removed\n", req.Name)
	case "shop.list":
		for _, s := range resp.Shops {
			q := "no quota"
			if s.DailyQuota > 0 {
				q = fmt.Sprintf("quota %d/day", s.DailyQuota)
			}
			fmt.Fprintf(w, "%s  %s  networks %s  products %s  %s\n", s.Name, s.PublicKey, strings.Join(s.Networks, ","), strings.Join(s.Products, ","), q)
		}
	case "audit":
		for _, e := range resp.Audit {
			fmt.Fprintf(w, "%6d %s %-16s", e.Seq, time.Unix(e.Time, 0).UTC().Format(time.RFC3339), e.Kind)
			if e.Shop != "" {
				fmt.Fprintf(w, " shop=%s", e.Shop)
			}
			if e.License != "" {
				fmt.Fprintf(w, " license=%s", e.License)
			}
			if e.Detail != "" {
				fmt.Fprintf(w, " %s", e.Detail)
			}
			fmt.Fprintln(w)
		}
	case "audit.verify":
		fmt.Fprintf(w, "audit log intact: %d entries, hash chain verified\n", resp.Verified)
	case "stats":
		names := make([]string, 0, len(resp.Stats))
		for n := range resp.Stats {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "%-44s %d\n", n, resp.Stats[n])
		}
	case "license.flagged":
		if len(resp.Flagged) == 0 {
			fmt.Fprintln(w, "no license is flagged")
		}
		for _, l := range resp.Flagged {
			lic := &l.License
			fmt.Fprintf(w, "license %x  %s  flagged %s: %s", lic.ID, lic.Product, unixOr(l.FlaggedAt, "?"), l.FlagReason)
			if lic.Shop != "" {
				fmt.Fprintf(w, "  (shop %s, order %q)", lic.Shop, lic.Order)
			}
			fmt.Fprintln(w)
		}
	default: // license.*
		l := resp.License
		if l == nil {
			return errors.New("no license in the answer")
		}
		lic := &l.License
		fmt.Fprintf(w, "license %x\n", lic.ID)
		fmt.Fprintf(w, "  status      %s (%s)\n", l.Status, lic.State)
		if l.FlaggedAt != 0 {
			fmt.Fprintf(w, "  FLAGGED     %s: %s (clear with 'tollgate license unflag')\n", unixOr(l.FlaggedAt, "?"), l.FlagReason)
		} else if l.FlagReason != "" {
			fmt.Fprintf(w, "  sightings   %s\n", l.FlagReason)
		}
		fmt.Fprintf(w, "  seen on     %d machine(s), from %d network(s), in the last %d days\n", l.Machines, l.Networks, l.WindowDays)
		fmt.Fprintf(w, "  product     %s", lic.Product)
		if len(lic.Bundle) > 0 {
			fmt.Fprintf(w, " + %s", strings.Join(lic.Bundle, ","))
		}
		fmt.Fprintf(w, "\n  seats       %d used of %d\n", len(l.Activations), lic.Seats)
		fmt.Fprintf(w, "  term        %s\n", lic.Term)
		fmt.Fprintf(w, "  activated   %s\n", unixOr(lic.Activated, "never"))
		fmt.Fprintf(w, "  expires     %s\n", unixOr(l.Expiry, "no end yet"))
		if len(lic.Entitlements) > 0 {
			fmt.Fprintf(w, "  features    %s\n", strings.Join(lic.Entitlements, ","))
		}
		fmt.Fprintf(w, "  validation  %s\n", policyString(lic.Policy))
		if lic.Shop != "" {
			fmt.Fprintf(w, "  minted by   shop %s, order %q, %s\n", lic.Shop, lic.Order, unixOr(lic.Created, "?"))
		}
		for _, a := range l.Activations {
			fmt.Fprintf(w, "  machine     %s (app %s), since %s, last seen %s\n", a.Hostname, a.AppVersion, unixOr(a.Created, "?"), unixOr(a.LastSeen, "never"))
		}
	}
	return nil
}

func unixOr(t int64, none string) string {
	if t == 0 {
		return none
	}
	return time.Unix(t, 0).UTC().Format(time.RFC3339)
}

// policyString says a license's validation policy; zero fields are the
// gateway's defaults (level 1, the configured lease lifetime).
func policyString(p store.Policy) string {
	level := max(p.Level, 1)
	s := fmt.Sprintf("level %d", level)
	if level == 3 {
		s += fmt.Sprintf(" (online every %d days, warning %d days before)", p.OnlineDays, p.WarnDays)
	}
	if p.LeaseSeconds == 0 {
		return s + ", lease: the gateway's default lifetime"
	}
	return s + ", lease " + (time.Duration(p.LeaseSeconds) * time.Second).String()
}
