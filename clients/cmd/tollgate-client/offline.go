package main

import (
	"fmt"
	"os"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/clients/internal/cli"
	"github.com/tollgate/tollgate/internal/atomicfile"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// The commands of a machine that never reaches the license server.
var offlineCommands = []cli.Command{
	{Name: "request", Args: "KEY", Summary: "write an activation request for a machine that is never online", NArgs: 1, Help: `Writes an activation request for the license key on this machine to the file
--out (required), for a machine that never reaches the license server. Carry
the file to the vendor (its operator answers with 'tollgate license answer',
a customer portal through the shop bridge); bring back the license file it
answers with and install it with 'tollgate-client import'. The key is sealed
to the license server in the request: whoever carries the file cannot read
it. A request made again replaces nothing: any of the last 8 requests made
here may be answered.

Example:
  tollgate-client --card server.card request 1AJS2-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX --out activation.req`},
	{Name: "import", Args: "FILE", Summary: "install the license file answering an activation request", NArgs: 1, Help: `Installs the license file the license server answered this machine's
activation request with ('tollgate-client request'). It must be signed by the
server of the card, for this installation, this machine and this product, and
answer a request made here; the program then runs offline by its lease.

Example:
  tollgate-client --card server.card import activation.lease`},
	{Name: "release", Summary: "give the license up offline, writing a release proof", Help: `Gives the license held here up without the license server: the license is
forgotten here first, then a release proof is written to --out (required).
Carry it to the vendor, whose 'tollgate license release' frees this machine's
seat. Run again with no license held, it writes the last proof again.

Example:
  tollgate-client --card server.card --product 1AJS2 release --out release.proof`},
}

func init() { commands = append(commands, offlineCommands...) }

// offlinePrepare checks the offline commands' flags and, for import
// without --product, reads the product from the license file. done is
// true when it has answered.
func (o *options) offlinePrepare(cmd string, rest []string) (code int, done bool) {
	help := "tollgate-client " + cmd + " --help"
	switch cmd {
	case "request", "release":
		if o.out == "" {
			return o.fail(exitUndecided, cli.Usage(help, "%s writes a file: give it with --out FILE.", cmd)), true
		}
	case "import":
		if o.product != "" {
			return 0, false
		}
		text, err := os.ReadFile(rest[0])
		if err != nil {
			return o.fail(exitUndecided, cli.Answer{Status: "error", Message: fmt.Sprintf("Cannot read the license file: %v.", err)}), true
		}
		if raw, err := wire.DearmorLease(text); err == nil {
			if lease, _, err := wire.ParseLease(raw); err == nil {
				o.product = string(lease.Product[:])
			}
		}
	}
	return 0, false
}

func (o *options) request(l *clients.Licensee, key keygen.Key) int {
	text, err := l.RequestOffline(key)
	if err != nil {
		return o.fail(exitUndecided, cli.Answer{Status: "error", Message: fmt.Sprintf("The activation request could not be made: %v.", err)})
	}
	if err := atomicfile.Write(o.out, text, 0o644); err != nil {
		return o.fail(exitUndecided, cli.Answer{Status: "error", Message: fmt.Sprintf("The activation request could not be written: %v.", err),
			Action: "Give a file that can be written with --out, and make the request again."})
	}
	a := cli.Answer{Status: "ok", Message: fmt.Sprintf("Activation request written to %s.", o.out),
		Action: "Carry it to the vendor; import the license file they answer with ('tollgate-client import FILE')."}
	return o.written(a)
}

func (o *options) importLease(l *clients.Licensee, file string) int {
	text, err := os.ReadFile(file)
	if err != nil {
		return o.fail(exitUndecided, cli.Answer{Status: "error", Message: fmt.Sprintf("Cannot read the license file: %v.", err)})
	}
	return o.decision(l.ImportLease(text))
}

func (o *options) release(l *clients.Licensee) int {
	text, err := l.ReleaseOffline()
	if err != nil {
		return o.fail(exitNotLicensed, cli.Answer{Status: string(clients.ReasonNotActivated), Message: fmt.Sprintf("Nothing was released: %v.", err)})
	}
	if err := atomicfile.Write(o.out, text, 0o644); err != nil {
		return o.fail(exitUndecided, cli.Answer{Status: "error", Message: fmt.Sprintf("The license is released here, but its proof could not be written: %v.", err),
			Action: "Run release again with a file that can be written: it writes the same proof."})
	}
	a := cli.Answer{Status: "ok", Message: fmt.Sprintf("The license is released on this machine; release proof written to %s.", o.out),
		Action: "Carry it to the vendor, who frees this machine's seat with it."}
	return o.written(a)
}

// written prints the answer of a command that wrote the file --out names
// (request, release): with --json, the answer and the file.
func (o *options) written(a cli.Answer) int {
	if o.json {
		cli.Emit(o.stdout, struct {
			cli.Answer
			Out string `json:"out"`
		}{a, o.out})
	} else {
		fmt.Fprintf(o.stdout, "%s\n%s\n", a.Message, a.Action)
	}
	return exitLicensed
}
