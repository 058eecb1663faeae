package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/atomicfile"
	"github.com/tollgate/tollgate/service"
)

// The license subcommands of air-gapped machines: answering an activation
// request file with a lease, and importing a release proof.
func init() {
	licenseListCommands["answer"] = cmdLicenseAnswer
	licenseListCommands["release"] = cmdLicenseRelease
	groups["license"] = append(groups["license"],
		sub{"answer", "license answer --data DIR REQUEST-FILE [--out LEASE-FILE]",
			"Answers the activation request of a machine that never reaches the gateway (written there by 'tollgate-client request KEY --out FILE' and carried here): the license key sealed in it is activated for that machine exactly as an online activation is (same seat rules; a request answered again gives the same seat), and the lease is written to LEASE-FILE (stdout without --out), to carry back and install there with 'tollgate-client import LEASE-FILE'. The key cannot be read from the request by whoever carries it; a request made for another gateway, or changed, is refused (REQUEST_MISMATCH). Audited.",
			"tollgate license answer --data /var/lib/tollgate activation.req --out activation.lease"},
		sub{"release", "license release --data DIR RELEASE-FILE",
			"Imports the release proof a machine that never reaches the gateway wrote when it gave its license up ('tollgate-client release --out FILE'), and frees that machine's seat. A proof made for another gateway, changed, or older than the machine's current activation is refused (REQUEST_MISMATCH); a seat already freed is NOT_ACTIVATED. Audited.",
			"tollgate license release --data /var/lib/tollgate release.proof"})
}

func cmdLicenseAnswer(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("license answer", stderr)
	data := fs.String("data", "", "data directory (required)")
	out := fs.String("out", "", "write the lease to this file (default: stdout)")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if *data == "" || len(pos) != 1 {
		return usageError("tollgate license answer --data DIR REQUEST-FILE [--out LEASE-FILE]")
	}
	text, err := os.ReadFile(pos[0])
	if err != nil {
		return fmt.Errorf("the activation request: %w", err)
	}
	var ans adminapi.OfflineAnswer
	err = withAdmin(*data, func(c *adminapi.Client) (err error) {
		ans, err = c.AnswerOffline(text)
		return err
	})
	if err != nil {
		return offlineRefusal(err)
	}
	if *out != "" {
		if err := atomicfile.Write(*out, []byte(ans.Lease), 0o644); err != nil {
			return fmt.Errorf("the seat is taken and the lease signed, but it could not be written (answer the same request again to get it): %w", err)
		}
	}
	switch {
	case jsonFlag(fs):
		return writeJSON(stdout, ans)
	case *out == "":
		_, err = io.WriteString(stdout, ans.Lease)
		return err
	}
	fmt.Fprintf(stdout, "license %s activated for the machine of the request; lease written to %s: install it there with 'tollgate-client import %s'\n", ans.LicenseID, *out, *out)
	return nil
}

func cmdLicenseRelease(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("license release", stderr)
	data := fs.String("data", "", "data directory (required)")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if *data == "" || len(pos) != 1 {
		return usageError("tollgate license release --data DIR RELEASE-FILE")
	}
	text, err := os.ReadFile(pos[0])
	if err != nil {
		return fmt.Errorf("the release proof: %w", err)
	}
	var l adminapi.License
	err = withAdmin(*data, func(c *adminapi.Client) (err error) {
		l, err = c.ReleaseOffline(text)
		return err
	})
	if err != nil {
		return offlineRefusal(err)
	}
	if jsonFlag(fs) {
		return writeJSON(stdout, l)
	}
	fmt.Fprintln(stdout, "release proof imported: the machine's seat is free")
	printLicense(stdout, l)
	return nil
}

// offlineRefusal says a refusal's status first, as a shop is told it: the
// operator may pass it on to the customer who brought the file.
func offlineRefusal(err error) error {
	var refusal *service.Error
	if errors.As(err, &refusal) {
		return fmt.Errorf("%v: %w", refusal.Kind.Status(), err)
	}
	return licenseError(err)
}
