package main

import (
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/store"
)

// licenseListCommands are the license subcommands of this file, which run
// dispatches here before the others.
var licenseListCommands = map[string]func(args []string, stdout, stderr io.Writer) error{
	"list":               cmdLicenseList,
	"deactivate-machine": cmdDeactivateMachine,
}

func cmdLicenseList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("license list", stderr)
	data := fs.String("data", "", "data directory (required)")
	var q store.LicenseQuery
	fs.StringVar(&q.Shop, "shop", "", "only licenses minted by this shop")
	fs.StringVar(&q.Order, "order", "", "only licenses of this order id")
	product := fs.String("product", "", "only licenses of this product code")
	state := fs.String("state", "", "only licenses in this state: active, suspended or revoked")
	fs.BoolVar(&q.Flagged, "flagged", false, "only licenses flagged as shared")
	expiring := fs.String("expiring-before", "", "only licenses ending before this date (2006-01-02 or RFC 3339), ended ones included")
	fs.IntVar(&q.Limit, "limit", 100, fmt.Sprintf("licenses a page (1 to %d)", store.MaxLicensePage))
	fs.StringVar(&q.After, "after", "", "the cursor of the page to list, as the previous page said")
	asCSV := fs.Bool("csv", false, "print CSV with a header line")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	asJSON := jsonFlag(fs) // {"licenses": [...], "next": cursor}
	switch {
	case *data == "" || len(pos) != 0:
		return usageError("tollgate license list --data DIR [flags]; see --help")
	case asJSON && *asCSV:
		return errors.New("--json and --csv: choose one")
	case q.Limit < 1 || q.Limit > store.MaxLicensePage:
		return fmt.Errorf("--limit must be 1 to %d", store.MaxLicensePage)
	}
	q.Product = strings.ToUpper(*product)
	if *state != "" {
		s, ok := parseState(*state)
		if !ok {
			return fmt.Errorf("--state %q: want active, suspended or revoked", *state)
		}
		q.State = &s
	}
	if *expiring != "" {
		t, err := parseDate(*expiring)
		if err != nil {
			return fmt.Errorf("--expiring-before: %w", err)
		}
		q.ExpiringBefore = t.Unix()
	}
	var page adminapi.LicenseList
	err = withAdmin(*data, func(c *adminapi.Client) (err error) {
		page, err = c.Licenses(q)
		return err
	})
	if err != nil {
		return err
	}
	rows := make([]listedRow, len(page.Licenses))
	for i, l := range page.Licenses {
		rows[i] = rowOf(l)
	}
	switch {
	case asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Licenses []listedRow `json:"licenses"`
			Next     string      `json:"next,omitempty"`
		}{rows, page.Next}); err != nil {
			return err
		}
	case *asCSV:
		w := csv.NewWriter(stdout)
		w.Write(listedColumns)
		for _, r := range rows {
			w.Write(r.fields())
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
	default:
		if len(rows) == 0 {
			fmt.Fprintln(stdout, "no license matches")
		}
		for _, r := range rows {
			fmt.Fprintf(stdout, "%s  %s  %-9s  %d seat(s)  expires %-20s  %s\n", r.ID, r.Product, r.Status, r.Seats, or(r.Expiry, "-"), shopOrder(r))
		}
	}
	if page.Next != "" {
		fmt.Fprintf(stderr, "more licenses: list the next page with --after %s\n", page.Next)
	}
	return nil
}

// listedRow is a license as license list exports it.
type listedRow struct {
	ID        string `json:"id"`
	Product   string `json:"product"`
	Status    string `json:"status"`
	State     string `json:"state"`
	Seats     uint32 `json:"seats"`
	Term      string `json:"term"`
	Activated string `json:"activated,omitempty"`
	Expiry    string `json:"expiry,omitempty"`
	Shop      string `json:"shop,omitempty"`
	Order     string `json:"order,omitempty"`
	Created   string `json:"created,omitempty"`
}

var listedColumns = []string{"id", "product", "status", "state", "seats", "term", "activated", "expiry", "shop", "order", "created"}

func (r listedRow) fields() []string {
	return []string{r.ID, r.Product, r.Status, r.State, strconv.FormatUint(uint64(r.Seats), 10), r.Term, r.Activated, r.Expiry, r.Shop, r.Order, r.Created}
}

func rowOf(l adminapi.ListedLicense) listedRow {
	lic := &l.License
	return listedRow{ID: hex.EncodeToString(lic.ID[:]), Product: lic.Product, Status: l.Status, State: lic.State.String(),
		Seats: lic.Seats, Term: lic.Term.String(), Activated: unixOr(lic.Activated, ""), Expiry: unixOr(l.Expiry, ""),
		Shop: lic.Shop, Order: lic.Order, Created: unixOr(lic.Created, "")}
}

func shopOrder(r listedRow) string {
	if r.Shop == "" {
		return "(minted by an operator)"
	}
	return fmt.Sprintf("shop %s, order %q", r.Shop, r.Order)
}

func or(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func parseState(s string) (store.State, bool) {
	for _, st := range []store.State{store.StateActive, store.StateSuspended, store.StateRevoked} {
		if strings.EqualFold(s, st.String()) {
			return st, true
		}
	}
	return 0, false
}

// parseDate reads a date (midnight UTC) or an RFC 3339 time.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date such as 2027-01-01, nor an RFC 3339 time", s)
}

func cmdDeactivateMachine(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("license deactivate-machine", stderr)
	data := fs.String("data", "", "data directory (required)")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if *data == "" || len(pos) != 2 {
		return usageError("tollgate license deactivate-machine --data DIR KEY|ID MACHINE-ID")
	}
	ref, machine := pos[0], pos[1]
	var l adminapi.License
	err = withAdmin(*data, func(c *adminapi.Client) (err error) {
		l, err = c.DeactivateMachine(ref, machine)
		return err
	})
	if err != nil {
		return licenseError(err)
	}
	if jsonFlag(fs) {
		return writeJSON(stdout, l)
	}
	fmt.Fprintf(stdout, "machine %s deactivated: its seat is free\n", strings.ToLower(machine))
	printLicense(stdout, l)
	return nil
}

// withAdmin runs do with the admin client of the gateway in data (its
// socket when it runs, else its store) and closes it.
func withAdmin(data string, do func(c *adminapi.Client) error) error {
	c, err := gateway.OpenAdmin(data)
	return using(c, err, do)
}

// using runs do with c, the client an open returned with err, and closes
// it.
func using(c *adminapi.Client, err error, do func(c *adminapi.Client) error) error {
	if err != nil {
		return err
	}
	err = do(c)
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return err
}

// withRunning runs do with the admin client of the gateway running on the
// data directory, through its admin socket only: for what only a running
// gateway has (its counters). It never opens the store, whose lock a
// gateway starting meanwhile needs.
func withRunning(data string, do func(c *adminapi.Client) error) error {
	sock := gateway.AdminSocketPath(data)
	if _, err := os.Lstat(sock); errors.Is(err, fs.ErrNotExist) {
		return usageError("the gateway of %s is not running (no admin socket %s): statistics come from a running gateway; start it with 'tollgate serve --data %s'", data, sock, data)
	}
	c, err := gateway.DialAdmin(data)
	return using(c, err, do)
}
