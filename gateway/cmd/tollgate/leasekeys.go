package main

import (
	"fmt"
	"io"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
)

// leaseKeyCommands are the keys subcommands on the gateway's lease-signing
// keys, which cmdAdmin runs here (keys mint is cmdMint's).
var leaseKeyCommands = map[string]func(args []string, stdout, stderr io.Writer) error{
	"list":   cmdKeysList,
	"rotate": cmdKeysRotate,
	"retire": cmdKeysRetire,
}

func cmdKeysList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys list", stderr)
	data := fs.String("data", "", "data directory (required)")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if *data == "" || len(pos) != 0 {
		return usageError("tollgate keys list --data DIR")
	}
	var ks adminapi.LeaseKeys
	if err := withKeysAdmin(*data, func(c *adminapi.Client) (err error) { ks, err = c.LeaseKeys(); return err }); err != nil {
		return err
	}
	return printLeaseKeys(stdout, jsonFlag(fs), ks)
}

func cmdKeysRotate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys rotate", stderr)
	data := fs.String("data", "", "data directory (required)")
	scheme := fs.String("scheme", "", "scheme of the new key (default: the current key's; statements fit a lease only with mldsa44-ed25519)")
	retire := fs.String("retire-after", "", "when apps stop trusting the current key for new leases: 2027-03-01 or RFC 3339 (default: 90 days from now)")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if *data == "" || len(pos) != 0 {
		return usageError("tollgate keys rotate --data DIR [--scheme S] [--retire-after DATE]")
	}
	req := adminapi.KeyRotation{Scheme: *scheme}
	if *retire != "" {
		t, err := parseDate(*retire)
		if err != nil {
			return usageError("--retire-after: %v", err)
		}
		req.RetireAfter = t.Unix()
	}
	var ks adminapi.LeaseKeys
	if err := withKeysAdmin(*data, func(c *adminapi.Client) (err error) { ks, err = c.RotateLeaseKey(req); return err }); err != nil {
		return err
	}
	if !jsonFlag(fs) {
		fmt.Fprintf(stdout, "lease key rotated: %s signs new leases now, each with a statement signed by %s that installed apps learn it from.\n"+
			"Ship the new card (tollgate card --data %s) with your next release.\n", ks.Keys[0].ID, ks.Keys[1].ID, *data)
	}
	return printLeaseKeys(stdout, jsonFlag(fs), ks)
}

func cmdKeysRetire(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys retire", stderr)
	data := fs.String("data", "", "data directory (required)")
	after := fs.String("after", "", "the retire date: 2027-03-01 or RFC 3339 (required)")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if *data == "" || len(pos) != 1 || *after == "" {
		return usageError("tollgate keys retire --data DIR --after DATE KEYID")
	}
	t, err := parseDate(*after)
	if err != nil {
		return usageError("--after: %v", err)
	}
	var ks adminapi.LeaseKeys
	req := adminapi.KeyRetirement{ID: pos[0], After: t.Unix()}
	if err := withKeysAdmin(*data, func(c *adminapi.Client) (err error) { ks, err = c.RetireLeaseKey(req); return err }); err != nil {
		return err
	}
	return printLeaseKeys(stdout, jsonFlag(fs), ks)
}

// withKeysAdmin runs do with the admin client of the gateway in data: its
// admin socket whenever it runs (even on a shared store, which other
// commands open directly), so that a rotation reaches the signer of the
// running gateway; else the stopped gateway's data directory.
func withKeysAdmin(data string, do func(c *adminapi.Client) error) error {
	if gateway.Running(data) {
		c, err := gateway.DialAdmin(data)
		return using(c, err, do)
	}
	return withAdmin(data, do)
}

// printLeaseKeys prints the keys, one a line, or as JSON.
func printLeaseKeys(w io.Writer, asJSON bool, ks adminapi.LeaseKeys) error {
	if asJSON {
		return writeJSON(w, ks)
	}
	for _, k := range ks.Keys {
		state := "earlier"
		if k.Signing {
			state = "signing"
		}
		line := fmt.Sprintf("%s  %-16s %-8s", k.ID, k.Scheme, state)
		if k.Since != 0 {
			line += "  since " + time.Unix(k.Since, 0).UTC().Format(time.RFC3339)
		}
		if k.RetireAfter != 0 {
			line += "  retires after " + time.Unix(k.RetireAfter, 0).UTC().Format(time.RFC3339)
		}
		fmt.Fprintln(w, line)
	}
	return nil
}
