package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/store"
)

// trialListFlags defines the flags of trial list and returns the function
// that makes the command once they are parsed.
func trialListFlags(fs *flag.FlagSet, out output, stdout io.Writer) func(pos []string) (command, error) {
	product := fs.String("product", "", "only the trials of this product code")
	return func([]string) (command, error) {
		code := strings.ToUpper(*product)
		if code != "" {
			if _, err := parseProductCode(code); err != nil {
				return nil, err
			}
		}
		list := func(c *adminapi.Client) (adminapi.TrialList, error) { return c.Trials(code) }
		return printing(out, list, func(l adminapi.TrialList) any { return l }, func(l adminapi.TrialList) { printTrials(stdout, l) }), nil
	}
}

func printTrials(w io.Writer, l adminapi.TrialList) {
	day := func(t int64) string { return time.Unix(t, 0).UTC().Format("2006-01-02 15:04") }
	for _, t := range l.Trials {
		state := "running"
		if t.Ended {
			state = "ended"
		}
		fmt.Fprintf(w, "%s  %s  machine %s  %-20s started %s  ends %s  %s\n", t.License, t.Product, t.Machine, t.Hostname, day(t.Started), day(t.Ends), state)
	}
	fmt.Fprintf(w, "%d trial(s), %d running\n", l.Count, l.Running)
}

// trialOfferFlags defines the flags of a product's keyless trial (product
// add and update) and returns the function that applies those given: a
// trial of --keyless-trial days (0: none) with the --trial-feature
// entitlements (default: the product's own).
func trialOfferFlags(fs *flag.FlagSet) func(p *store.Product, add bool) error {
	days := fs.Uint("keyless-trial", 0, fmt.Sprintf("offer a keyless trial of this many days (1 to %d), once per machine; 0 offers none", store.MaxTrialDays))
	var features multi
	fs.Var(&features, "trial-feature", "an entitlement of the keyless trial (repeatable; default: the product's features)")
	return func(p *store.Product, add bool) error {
		set := given(fs)
		if set["trial-feature"] && !set["keyless-trial"] && p.TrialOffer == nil {
			return usageError("--trial-feature needs --keyless-trial DAYS: the product offers no keyless trial")
		}
		if *days > store.MaxTrialDays {
			return usageError("--keyless-trial %d: offer 1 to %d days", *days, store.MaxTrialDays)
		}
		if set["keyless-trial"] {
			if *days == 0 {
				p.TrialOffer = nil
				return nil
			}
			if p.TrialOffer == nil {
				p.TrialOffer = &store.TrialOffer{Entitlements: p.Entitlements}
			}
			p.TrialOffer.Days = uint16(*days)
		}
		if set["trial-feature"] && p.TrialOffer != nil {
			p.TrialOffer.Entitlements = features
		}
		return nil
	}
}

// withTrialOffer is edit followed by the trial offer's flags.
func withTrialOffer(edit, trial func(p *store.Product, add bool) error) func(p *store.Product, add bool) error {
	return func(p *store.Product, add bool) error {
		if err := edit(p, add); err != nil {
			return err
		}
		return trial(p, add)
	}
}
