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

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// cmdAdmin parses an operator command, runs it with the typed admin client
// gateway.OpenAdmin returns (directly on a stopped gateway's store, or
// through a running one's admin socket) and prints the answer.
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
	// finish checks the arguments once parsed and returns the command.
	var finish func() (command, error)
	switch group + " " + sub {
	case "stats ":
		asJSON := fs.Bool("json", false, "print one JSON object instead of a line a counter")
		finish = func() (command, error) {
			if fs.NArg() != 0 {
				return nil, errors.New("usage: tollgate stats --data DIR [--json]")
			}
			return func(c *adminapi.Client) error {
				counters, err := c.Stats()
				switch {
				case err != nil:
					return err
				case *asJSON:
					enc := json.NewEncoder(stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(counters)
				}
				printStats(stdout, counters)
				return nil
			}, nil
		}
	case "product add":
		p := store.Product{}
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
		finish = func() (command, error) {
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
				return nil, errors.New("--level must be 1, 2 or 3")
			}
			return saying(stdout, func(c *adminapi.Client) error { return c.AddProduct(p) }, "product %s saved", p.Code), nil
		}
	case "product list":
		finish = func() (command, error) {
			return printing((*adminapi.Client).Products, func(ps []store.Product) { printProducts(stdout, ps...) }), nil
		}
	case "shop list":
		finish = func() (command, error) {
			return printing((*adminapi.Client).Shops, func(shops []adminapi.Shop) { printShops(stdout, shops) }), nil
		}
	case "audit ":
		since := fs.String("since", "", "only entries from this time (RFC 3339) or this long ago (a duration such as 24h)")
		verify := fs.Bool("verify", false, "check the hash chain instead of listing")
		finish = func() (command, error) {
			if *verify {
				return printing((*adminapi.Client).VerifyAudit, func(n int) {
					fmt.Fprintf(stdout, "audit log intact: %d entries, hash chain verified\n", n)
				}), nil
			}
			var from int64
			if *since != "" {
				if d, err := time.ParseDuration(*since); err == nil {
					from = time.Now().Add(-d).Unix()
				} else if t, err := time.Parse(time.RFC3339, *since); err == nil {
					from = t.Unix()
				} else {
					return nil, errors.New("--since: want an RFC 3339 time or a duration")
				}
			}
			audit := func(c *adminapi.Client) ([]store.AuditEntry, error) { return c.Audit(from) }
			return printing(audit, func(log []store.AuditEntry) { printAudit(stdout, log) }), nil
		}
	case "product show", "shop remove":
		finish = func() (command, error) {
			if fs.NArg() != 1 {
				return nil, fmt.Errorf("usage: tollgate %s %s --data DIR NAME", group, sub)
			}
			name := fs.Arg(0)
			if group == "shop" {
				return saying(stdout, func(c *adminapi.Client) error { return c.RemoveShop(name) }, "shop %s removed", name), nil
			}
			show := func(c *adminapi.Client) (store.Product, error) { return c.Product(strings.ToUpper(name)) }
			return printing(show, func(p store.Product) { printProducts(stdout, p) }), nil
		}
	case "shop add":
		sh := adminapi.Shop{}
		fs.StringVar(&sh.Name, "name", "", "shop name (required)")
		key := fs.String("key", "", "the shop's public key, noisepub:... or the .pub file tollgate-shop keygen wrote (required)")
		quota := fs.Uint("quota", 0, "keys the shop may mint per UTC day (0: no bound)")
		var networks, products multi
		fs.Var(&networks, "network", "CIDR prefix or address the shop connects from (repeatable, required)")
		fs.Var(&products, "product", "product code the shop may mint (repeatable, required)")
		finish = func() (command, error) {
			sh.PublicKey = *key
			if !strings.HasPrefix(*key, "noisepub:") {
				b, err := os.ReadFile(*key)
				if err != nil {
					return nil, fmt.Errorf("--key: %w", err)
				}
				sh.PublicKey = strings.TrimSpace(string(b))
			}
			sh.Networks = networks
			for _, p := range products {
				sh.Products = append(sh.Products, strings.ToUpper(p))
			}
			sh.DailyQuota = uint32(*quota)
			return saying(stdout, func(c *adminapi.Client) error { return c.AddShop(sh) }, "shop %s registered", sh.Name), nil
		}
	case "license flagged":
		finish = func() (command, error) {
			if fs.NArg() != 0 {
				return nil, errors.New("usage: tollgate license flagged --data DIR")
			}
			return printing((*adminapi.Client).FlaggedLicenses, func(fl []adminapi.License) { printFlagged(stdout, fl) }), nil
		}
	case "license show", "license suspend", "license resume", "license revoke", "license renew", "license reset", "license unflag":
		years := fs.Uint("years", 0, "renew: extend by this many years (default: the product's term)")
		months := fs.Uint("months", 0, "renew: extend by this many months")
		finish = func() (command, error) {
			if fs.NArg() != 1 {
				return nil, fmt.Errorf("usage: tollgate license %s --data DIR KEY|ID", sub)
			}
			key := fs.Arg(0)
			var term store.Term
			switch {
			case *months > 0:
				term = store.Term{Kind: store.TermMonths, Value: uint16(*months)}
			case *years > 0:
				term = store.Term{Kind: store.TermYears, Value: uint16(*years)}
			}
			op := licenseOps[sub]
			run := func(c *adminapi.Client) (adminapi.License, error) {
				l, err := op(c, key, term)
				return l, licenseError(err)
			}
			return printing(run, func(l adminapi.License) { printLicense(stdout, l) }), nil
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
	do, err := finish()
	if err != nil {
		return err
	}
	return withAdmin(*data, do)
}

// command is an operator command, ready to run with the admin client.
type command = func(c *adminapi.Client) error

// printing returns the command that calls get and, once it succeeded,
// prints its answer with print.
func printing[T any](get func(*adminapi.Client) (T, error), print func(T)) command {
	return func(c *adminapi.Client) error {
		v, err := get(c)
		if err == nil {
			print(v)
		}
		return err
	}
}

// saying returns the command that runs do and, once it succeeded, says so
// on w: the line format with args.
func saying(w io.Writer, do func(*adminapi.Client) error, format string, args ...any) command {
	return func(c *adminapi.Client) error {
		err := do(c)
		if err == nil {
			fmt.Fprintf(w, format+"\n", args...)
		}
		return err
	}
}

// licenseOps are the license commands: each calls its method of the admin
// client (term: renew only).
var licenseOps = map[string]licenseCommand{
	"show":    keyOnly((*adminapi.Client).ShowLicense),
	"suspend": keyOnly((*adminapi.Client).SuspendLicense),
	"resume":  keyOnly((*adminapi.Client).ResumeLicense),
	"revoke":  keyOnly((*adminapi.Client).RevokeLicense),
	"renew":   (*adminapi.Client).RenewLicense,
	"reset":   keyOnly((*adminapi.Client).ResetLicense),
	"unflag":  keyOnly((*adminapi.Client).UnflagLicense),
}

type licenseCommand func(c *adminapi.Client, key string, term store.Term) (adminapi.License, error)

// keyOnly is the command of a license method that takes no term.
func keyOnly(f func(*adminapi.Client, string) (adminapi.License, error)) licenseCommand {
	return func(c *adminapi.Client, key string, _ store.Term) (adminapi.License, error) { return f(c, key) }
}

// licenseError says what an operator can do about a license command's
// error, where its kind tells.
func licenseError(err error) error {
	if err != nil && errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w; check it", err)
	}
	return err
}

// clampSeats converts a seat flag, keeping a count too large for the
// store's 32 bits too large (the store then refuses it with the range
// allowed) instead of wrapping it around.
func clampSeats(n uint) uint32 { return uint32(min(n, math.MaxUint32)) }

func printProducts(w io.Writer, ps ...store.Product) {
	for _, p := range ps {
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
}

func printShops(w io.Writer, shops []adminapi.Shop) {
	for _, s := range shops {
		q := "no quota"
		if s.DailyQuota > 0 {
			q = fmt.Sprintf("quota %d/day", s.DailyQuota)
		}
		fmt.Fprintf(w, "%s  %s  networks %s  products %s  %s\n", s.Name, s.PublicKey, strings.Join(s.Networks, ","), strings.Join(s.Products, ","), q)
	}
}

func printAudit(w io.Writer, log []store.AuditEntry) {
	for _, e := range log {
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
}

func printStats(w io.Writer, counters map[string]int64) {
	names := make([]string, 0, len(counters))
	for n := range counters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "%-44s %d\n", n, counters[n])
	}
}

func printFlagged(w io.Writer, flagged []adminapi.License) {
	if len(flagged) == 0 {
		fmt.Fprintln(w, "no license is flagged")
	}
	for _, l := range flagged {
		lic := &l.License
		fmt.Fprintf(w, "license %x  %s  flagged %s: %s", lic.ID, lic.Product, unixOr(l.FlaggedAt, "?"), l.FlagReason)
		if lic.Shop != "" {
			fmt.Fprintf(w, "  (shop %s, order %q)", lic.Shop, lic.Order)
		}
		fmt.Fprintln(w)
	}
}

func printLicense(w io.Writer, l adminapi.License) {
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
		fmt.Fprintf(w, "  machine     %s  %s (app %s), first seen %s, last seen %s\n", service.MachineID(a.Install), a.Hostname, a.AppVersion, unixOr(a.Created, "?"), unixOr(a.LastSeen, "never"))
	}
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
