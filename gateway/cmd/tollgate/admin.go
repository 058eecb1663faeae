package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// cmdAdmin parses an operator command, runs it with the typed admin client
// gateway.OpenAdmin returns (directly on a stopped gateway's store, or
// through a running one's admin socket) and prints the answer: as text, or
// with --json as one JSON object.
func cmdAdmin(group string, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if _, ok := groups[group]; ok {
		switch {
		case len(args) == 0:
			groupHelp(stderr, group)
			return usageError("tollgate %s needs a subcommand", group)
		case isHelp(args[0]):
			groupHelp(stdout, group)
			return flag.ErrHelp
		}
		sub, args = args[0], args[1:]
		if helpOf(group+" "+sub).name == "" {
			groupHelp(stderr, group)
			return usageError("unknown command %q; run 'tollgate %s --help'", group+" "+sub, group)
		}
	}
	if group == "keys" {
		if f := leaseKeyCommands[sub]; f != nil {
			return f(args, stdout, stderr)
		}
		return cmdMint(args, stdout, stderr)
	}
	name := strings.TrimSpace(group + " " + sub)
	fs := newFlags(name, stderr)
	data := fs.String("data", "", "data directory (required)")
	out := output{w: stdout, fs: fs}
	// finish checks the arguments once parsed (pos: the positional ones)
	// and returns the command.
	var finish func(pos []string) (command, error)
	switch name {
	case "stats":
		finish = func(pos []string) (command, error) {
			return printing(out, (*adminapi.Client).Stats, func(counters map[string]int64) any { return counters }, func(c map[string]int64) { printStats(stdout, c) }), nil
		}
	case "product add", "product update":
		edit := withTrialOffer(productFlags(fs), trialOfferFlags(fs))
		code := fs.String("code", "", "5-character product code (required)")
		finish = func(pos []string) (command, error) {
			code := strings.ToUpper(*code)
			if _, err := parseProductCode(code); err != nil {
				return nil, err
			}
			if sub == "add" {
				p := store.Product{Code: code}
				if err := edit(&p, true); err != nil {
					return nil, err
				}
				return saying(out, func(c *adminapi.Client) error { return c.AddProduct(p) }, "product %s added", code), nil
			}
			get := func(c *adminapi.Client) (store.Product, error) { return c.Product(code) }
			return saying(out, updating(get, edit, (*adminapi.Client).UpdateProduct), "product %s updated", code), nil
		}
	case "product list":
		finish = func(pos []string) (command, error) {
			return printing(out, (*adminapi.Client).Products, func(ps []store.Product) any { return adminapi.Products{Products: ps} }, func(ps []store.Product) { printProducts(stdout, ps...) }), nil
		}
	case "shop list":
		finish = func(pos []string) (command, error) {
			return printing(out, (*adminapi.Client).Shops, func(s []adminapi.Shop) any { return adminapi.Shops{Shops: s} }, func(shops []adminapi.Shop) { printShops(stdout, shops) }), nil
		}
	case "audit":
		since := fs.String("since", "", "only entries from this time (RFC 3339) or this long ago (a duration such as 24h)")
		verify := fs.Bool("verify", false, "check the hash chain instead of listing")
		finish = func(pos []string) (command, error) {
			if *verify {
				return printing(out, (*adminapi.Client).VerifyAudit, func(n int) any { return adminapi.AuditVerified{Entries: n} }, func(n int) {
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
					return nil, usageError("--since: want an RFC 3339 time or a duration")
				}
			}
			audit := func(c *adminapi.Client) ([]store.AuditEntry, error) { return c.Audit(from) }
			return printing(out, audit, func(log []store.AuditEntry) any { return adminapi.AuditLog{Entries: log} }, func(log []store.AuditEntry) { printAudit(stdout, log) }), nil
		}
	case "product show":
		finish = func(pos []string) (command, error) {
			code := strings.ToUpper(pos[0])
			show := func(c *adminapi.Client) (store.Product, error) { return c.Product(code) }
			return printing(out, show, func(p store.Product) any { return p }, func(p store.Product) { printProducts(stdout, p) }), nil
		}
	case "shop remove":
		finish = func(pos []string) (command, error) {
			name := pos[0]
			return saying(out, func(c *adminapi.Client) error { return c.RemoveShop(name) }, "shop %s removed", name), nil
		}
	case "shop add", "shop update":
		edit := shopFlags(fs)
		finish = func(pos []string) (command, error) {
			if sub == "add" {
				sh := adminapi.Shop{}
				if err := edit(&sh, true); err != nil {
					return nil, err
				}
				return saying(out, func(c *adminapi.Client) error { return c.AddShop(sh) }, "shop %s registered", sh.Name), nil
			}
			if err := edit(&adminapi.Shop{}, false); err != nil {
				return nil, err
			}
			name := fs.Lookup("name").Value.String()
			get := func(c *adminapi.Client) (adminapi.Shop, error) { return shopNamed(c, name) }
			return saying(out, updating(get, edit, (*adminapi.Client).UpdateShop), "shop %s updated", name), nil
		}
	case "trial list":
		finish = trialListFlags(fs, out, stdout)
	case "license flagged":
		finish = func(pos []string) (command, error) {
			return printing(out, (*adminapi.Client).FlaggedLicenses, func(fl []adminapi.License) any { return adminapi.Flagged{Licenses: fl} }, func(fl []adminapi.License) { printFlagged(stdout, fl) }), nil
		}
	case "license show", "license suspend", "license resume", "license revoke", "license renew", "license reset", "license unflag":
		var termOf func() (store.Term, error)
		if sub == "renew" {
			years := fs.Uint("years", 0, "extend by this many years (default: the product's term)")
			months := fs.Uint("months", 0, "extend by this many months")
			days := fs.Uint("days", 0, "extend by this many days")
			perpetual := fs.Bool("perpetual", false, "make the license perpetual")
			termOf = func() (store.Term, error) { return termFlags(fs, *years, *months, *days, *perpetual) }
		}
		finish = func(pos []string) (command, error) {
			key := pos[0]
			var term store.Term
			if termOf != nil {
				var err error
				if term, err = termOf(); err != nil {
					return nil, err
				}
			}
			op := licenseOps[sub]
			run := func(c *adminapi.Client) (adminapi.License, error) {
				l, err := op(c, key, term)
				return l, licenseError(err)
			}
			return printing(out, run, asLicenseJSON, func(l adminapi.License) { printLicense(stdout, l) }), nil
		}
	default:
		return usageError("unknown command %q; run 'tollgate help'", name)
	}
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if err := needData(*data); err != nil {
		return err
	}
	if len(pos) != positional(name) {
		return usageError("usage: tollgate %s", helpOf(name).usage)
	}
	do, err := finish(pos)
	if err != nil {
		return err
	}
	if name == "stats" {
		return withRunning(*data, do)
	}
	return withAdmin(*data, do)
}

// positional is how many arguments (not flags) the command name takes:
// a license KEY, a product CODE, a shop NAME.
func positional(name string) int {
	u := helpOf(name).usage
	if strings.HasSuffix(u, " KEY") || strings.HasSuffix(u, " CODE") || strings.HasSuffix(u, " NAME") {
		return 1
	}
	return 0
}

// updating returns the update of a record: get reads it, edit applies the
// flags given, put writes it back.
func updating[T any](get func(*adminapi.Client) (T, error), edit func(*T, bool) error, put func(*adminapi.Client, T) error) func(*adminapi.Client) error {
	return func(c *adminapi.Client) error {
		v, err := get(c)
		if err != nil {
			return err
		}
		if err := edit(&v, false); err != nil {
			return err
		}
		return put(c, v)
	}
}

// shopNamed returns the registered shop called name.
func shopNamed(c *adminapi.Client, name string) (adminapi.Shop, error) {
	shops, err := c.Shops()
	if err != nil {
		return adminapi.Shop{}, err
	}
	for _, sh := range shops {
		if sh.Name == name {
			return sh, nil
		}
	}
	return adminapi.Shop{}, fmt.Errorf("%w: shop %q is not registered; add it with 'tollgate shop add'", store.ErrNotFound, name)
}

// shopFlags defines the flags of shop add and shop update and returns
// the function that applies them to a shop: all of them for a new shop
// (add), those given for an update.
func shopFlags(fs *flag.FlagSet) func(sh *adminapi.Shop, add bool) error {
	name := fs.String("name", "", "shop name (required)")
	key := fs.String("key", "", "the shop's public key, noisepub:... or the .pub file tollgate-shop keygen wrote (required to add)")
	quota := fs.Uint("quota", 0, "keys the shop may mint per UTC day (0: no bound)")
	var networks, products multi
	fs.Var(&networks, "network", "CIDR prefix or address the shop connects from (repeatable, required to add)")
	fs.Var(&products, "product", "product code of the catalogue the shop may mint (repeatable, required to add)")
	return func(sh *adminapi.Shop, add bool) error {
		set := given(fs)
		if *name == "" {
			return usageError("--name is required")
		}
		if !add && !set["key"] && !set["network"] && !set["product"] && !set["quota"] {
			return usageError("shop update changes what its flags give: --key, --network, --product or --quota")
		}
		sh.Name = *name
		if add || set["key"] {
			sh.PublicKey = *key
			if !strings.HasPrefix(*key, "noisepub:") {
				b, err := os.ReadFile(*key)
				if err != nil {
					return usageError("--key: want noisepub:... or the .pub file tollgate-shop keygen wrote: %v", err)
				}
				sh.PublicKey = strings.TrimSpace(string(b))
			}
		}
		if add || set["network"] {
			sh.Networks = networks
		}
		if add || set["product"] {
			sh.Products = nil
			for _, p := range products {
				sh.Products = append(sh.Products, strings.ToUpper(p))
			}
		}
		if add || set["quota"] {
			sh.DailyQuota = uint32(*quota)
		}
		return nil
	}
}

// productFlags defines the flags of product add and product update and
// returns the function that applies them to a product: all of them, with
// their defaults, for a new product (add), those given for an update.
func productFlags(fs *flag.FlagSet) func(p *store.Product, add bool) error {
	name := fs.String("name", "", "product name (required to add)")
	platform := fs.String("platform", "", "platform, such as windows or linux")
	years := fs.Uint("years", 0, "default term in years (default 1)")
	months := fs.Uint("months", 0, "default term in months (subscriptions)")
	perpetual := fs.Bool("perpetual", false, "perpetual by default")
	trial := fs.Uint("trial-days", 0, "trial licenses of this many days from first activation")
	seats := fs.Uint("seats", 1, "default seats per key")
	maxSeats := fs.Uint("max-seats", 0, fmt.Sprintf("the most seats a key may carry (default %d; above that only with --site-license, up to %d)", store.DefaultMaxSeats, store.SiteSeatCeiling))
	site := fs.Bool("site-license", false, "a site license: --max-seats may exceed "+fmt.Sprint(store.DefaultMaxSeats)+" and must be given")
	level := fs.Uint("level", 1, "validation level 1, 2 or 3")
	online := fs.Uint("online-days", 0, "level 3: server check required within this many days")
	warn := fs.Uint("warn-days", 0, "level 3: warn this many days before")
	lease := fs.Uint("lease-days", 7, "lifetime of a signed lease, in days")
	float := floatingFlags(fs)
	var features, bundle multi
	fs.Var(&features, "feature", "default entitlement (repeatable)")
	fs.Var(&bundle, "bundle", "further product code a key licenses, a product already in the catalogue (repeatable, or CODE,CODE); its entitlements come along scoped as code.name unless --feature scopes some")
	base := fs.String("base", "", "make the product a plug-in of this catalogue product: its keys work only beside a license of it on the same installation")
	return func(p *store.Product, add bool) error {
		set := given(fs)
		is := func(f string) bool { return add || set[f] }
		if *level < 1 || *level > 3 {
			return usageError("--level must be 1, 2 or 3")
		}
		term, err := termFlags(fs, *years, *months, 0, *perpetual)
		if err != nil {
			return err
		}
		if *trial > 0xffff {
			return usageError("a trial of %d days is too long", *trial)
		}
		if is("name") {
			p.Name = *name
		}
		if is("platform") {
			p.Platform = *platform
		}
		if is("seats") {
			p.Seats = clampSeats(*seats)
		}
		if is("max-seats") {
			p.MaxSeats = clampSeats(*maxSeats)
		}
		if is("site-license") {
			p.SiteLicense = *site
		}
		if is("feature") {
			p.Entitlements = features
		}
		if is("bundle") {
			p.Bundle = nil
			for _, b := range bundle {
				for c := range strings.SplitSeq(b, ",") {
					if c = strings.TrimSpace(c); c != "" {
						p.Bundle = append(p.Bundle, strings.ToUpper(c))
					}
				}
			}
		}
		if is("base") {
			p.Base = strings.ToUpper(*base)
		}
		if is("level") {
			p.Policy.Level = uint8(*level)
		}
		if is("online-days") {
			p.Policy.OnlineDays = uint16(min(*online, 0xffff))
		}
		if is("warn-days") {
			p.Policy.WarnDays = uint16(min(*warn, 0xffff))
		}
		if is("lease-days") {
			p.Policy.LeaseSeconds = uint32(min(*lease, 49000)) * 86400
		}
		switch {
		case term.Kind != store.TermDefault:
			p.Term, p.TrialDays = term, 0
		case add:
			p.Term = store.Term{Kind: store.TermYears, Value: 1}
		}
		if set["trial-days"] {
			p.TrialDays = uint16(*trial)
		}
		return float(p, add, set)
	}
}

// command is an operator command, ready to run with the admin client.
type command = func(c *adminapi.Client) error

// output is where a command prints: text, or one JSON object with --json.
type output struct {
	w  io.Writer
	fs *flag.FlagSet
}

// printing returns the command that calls get and, once it succeeded,
// prints its answer: with print, or with --json the value asJSON makes of
// it.
func printing[T any](out output, get func(*adminapi.Client) (T, error), asJSONValue func(T) any, print func(T)) command {
	return func(c *adminapi.Client) error {
		v, err := get(c)
		switch {
		case err != nil:
			return err
		case asJSON(out.fs):
			return writeJSON(out.w, asJSONValue(v))
		}
		print(v)
		return nil
	}
}

// saying returns the command that runs do and, once it succeeded, says so:
// the line format with args, or with --json {"message": that line}.
func saying(out output, do func(*adminapi.Client) error, format string, args ...any) command {
	return func(c *adminapi.Client) error {
		if err := do(c); err != nil {
			return err
		}
		msg := fmt.Sprintf(format, args...)
		if asJSON(out.fs) {
			return writeJSON(out.w, map[string]string{"message": msg})
		}
		_, err := fmt.Fprintln(out.w, msg)
		return err
	}
}

// jsonError is what a command prints with --json when it fails.
type jsonError struct {
	Error errorJSON `json:"error"`
}

// errorJSON is an error as --json prints it: Code is the admin socket's
// code of its kind (gateway/adminapi: "not_found", "revoked", "usage",
// ...), Status the wire status of a license refusal, Message the sentence.
type errorJSON struct {
	Code    string `json:"code,omitempty"`
	Status  string `json:"status,omitempty"`
	Message string `json:"message"`
}

func errorBody(err error) errorJSON {
	e := errorJSON{Code: string(gateway.ErrorCode(err)), Message: err.Error()}
	var refusal *service.Error
	if errors.As(err, &refusal) {
		e.Status = refusal.Kind.Status().String()
	}
	return e
}

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
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
		if len(p.Bundle) > 0 {
			fmt.Fprintf(w, "  bundle of %s", strings.Join(p.Bundle, ","))
		}
		if p.Base != "" {
			fmt.Fprintf(w, "  plug-in of %s", p.Base)
		}
		if len(p.Entitlements) > 0 {
			fmt.Fprintf(w, "  features %s", strings.Join(p.Entitlements, ","))
		}
		if o := p.TrialOffer; o != nil {
			fmt.Fprintf(w, "  keyless trial %d day(s) features %s", o.Days, strings.Join(o.Entitlements, ","))
		}
		fmt.Fprintf(w, "  level %d", p.Policy.Level)
		if p.Policy.Floating {
			fmt.Fprintf(w, ", floating (checkout %v)", time.Duration(p.Policy.LeaseSeconds)*time.Second)
		}
		fmt.Fprintln(w)
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
	now := time.Now().Unix()
	if lic.Policy.Floating {
		fmt.Fprintf(w, "\n  seats       %s\n", floatingSummary(l, now))
	} else {
		fmt.Fprintf(w, "\n  seats       %d used of %d\n", len(l.Activations), lic.Seats)
	}
	fmt.Fprintf(w, "  term        %s\n", l.Term)
	fmt.Fprintf(w, "  activated   %s\n", unixOr(lic.Activated, "never"))
	fmt.Fprintf(w, "  expires     %s\n", unixOr(l.Expiry, "no end yet"))
	if len(lic.Entitlements) > 0 {
		fmt.Fprintf(w, "  features    %s\n", strings.Join(lic.Entitlements, ","))
	}
	fmt.Fprintf(w, "  validation  %s\n", policyString(lic.Policy))
	if lic.Shop != "" {
		fmt.Fprintf(w, "  minted by   shop %s, order %q, %s\n", lic.Shop, lic.Order, unixOr(lic.Created, "?"))
	}
	if lic.Policy.Floating {
		printFloatingSeats(w, l, now)
		return
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
	if p.Floating {
		return fmt.Sprintf("floating seats, checked out for %v and renewed by heartbeats", time.Duration(p.LeaseSeconds)*time.Second)
	}
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
