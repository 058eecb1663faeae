package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tollgate/tollgate/gateway"
)

// sub is the help of one subcommand: its usage line (after "tollgate"),
// what it does, and an example.
type sub struct {
	name, usage, does, example string
}

// groups are the command groups and their subcommands, in the order their
// help lists them.
var groups = map[string][]sub{
	"product": {
		{"add", "product add --data DIR --code CODE --name NAME [flags]", "Adds a product to the catalogue; a code already in it is refused (use 'product update').", "tollgate product add --data /var/lib/tollgate --code 1AJS2 --name 'VSE 2.1 Lite' --years 1 --seats 2"},
		{"update", "product update --data DIR --code CODE [flags]", "Changes a catalogue product on purpose: the flags given replace its fields, the rest stay. Keys already minted keep what they were minted with.", "tollgate product update --data /var/lib/tollgate --code 1AJS2 --name 'VSE 2.2 Lite'"},
		{"list", "product list --data DIR", "Lists the catalogue, one product a line.", "tollgate product list --data /var/lib/tollgate --json"},
		{"show", "product show --data DIR CODE", "Shows one catalogue product.", "tollgate product show --data /var/lib/tollgate 1AJS2"},
	},
	"shop": {
		{"add", "shop add --data DIR --name NAME --key noisepub:...|FILE.pub --network CIDR... --product CODE... [--quota N]", "Registers a shop that mints keys over the shop channel; a name or key already registered is refused (use 'shop update'), and every product must be in the catalogue.", "tollgate shop add --data /var/lib/tollgate --name acme --key acme.pub --network 198.51.100.0/24 --product 1AJS2"},
		{"update", "shop update --data DIR --name NAME [--key ...] [--network CIDR]... [--product CODE]... [--quota N]", "Changes a registered shop on purpose: the flags given replace its key, networks, products or quota, the rest stay. A running gateway applies it at once.", "tollgate shop update --data /var/lib/tollgate --name acme --quota 1000"},
		{"list", "shop list --data DIR", "Lists the registered shops, one a line.", "tollgate shop list --data /var/lib/tollgate"},
		{"remove", "shop remove --data DIR NAME", "Removes a shop; the keys it minted stay valid.", "tollgate shop remove --data /var/lib/tollgate acme"},
	},
	"license": {
		{"show", "license show --data DIR KEY", "Shows a license: status, term and expiry, seats and machines, how it was minted.", "tollgate license show --data /var/lib/tollgate 1AJS2-...."},
		{"suspend", "license suspend --data DIR KEY", "Suspends a license: validations refuse it until resumed.", "tollgate license suspend --data /var/lib/tollgate 1AJS2-...."},
		{"resume", "license resume --data DIR KEY", "Lifts a suspension. A revoked license cannot be resumed.", "tollgate license resume --data /var/lib/tollgate 1AJS2-...."},
		{"revoke", "license revoke --data DIR KEY", "Revokes a license, for good.", "tollgate license revoke --data /var/lib/tollgate 1AJS2-...."},
		{"renew", "license renew --data DIR [--years N | --months N | --days N | --perpetual] KEY", "Extends a license by the term given (default: its product's term), from its current end or from now if it has ended.", "tollgate license renew --data /var/lib/tollgate --months 6 1AJS2-...."},
		{"reset", "license reset --data DIR KEY", "Frees every seat of a license (the user changed computers).", "tollgate license reset --data /var/lib/tollgate 1AJS2-...."},
		{"unflag", "license unflag --data DIR KEY", "Clears a license's flag, and the machines and networks seen so far.", "tollgate license unflag --data /var/lib/tollgate 1AJS2-...."},
		{"list", "license list --data DIR [--shop S] [--order O] [--product CODE] [--state S] [--flagged] [--expiring-before DATE] [--limit N] [--after CURSOR] [--json | --csv]", "Lists licenses (never their keys): those of a shop, an order, a product, a state, the flagged ones, those ending before a date; filters combine. A page holds --limit licenses; when there are more, the command says the --after cursor of the next page (on stderr, so that --json and --csv output stays clean). Its cost on the embedded store is a scan of every license: fine for an operator, not for a script run every second.", "tollgate license list --data DIR --shop acme --order A-1001"},
		{"deactivate-machine", "license deactivate-machine --data DIR KEY|ID MACHINE-ID", "Frees the seat of one machine of a license, and leaves its other seats: the machine's app must activate again (if a seat is free then). The license is named by its key or its id; the machine by the id 'tollgate license show' prints beside it. Audited.", "tollgate license deactivate-machine --data DIR 3f2a9c01 5be1d0c4"},
		{"flagged", "license flagged --data DIR", "Lists the licenses activated on too many machines or networks: shared keys.", "tollgate license flagged --data /var/lib/tollgate"},
	},
	"trial": {
		{"list", "trial list --data DIR [--product CODE]", "Lists the keyless trials started (never a key: a trial has none), oldest first: license id, product, machine, hostname, start and end, running or ended, and counts them. A machine gets one trial of a product; 'license show' takes the id, 'license revoke' ends a trial early.", "tollgate trial list --data /var/lib/tollgate --product 1CJS2 --json"},
	},
	"keys": {
		{"mint", "keys mint --data DIR --product CODE [flags]", "Mints license keys of a catalogue product straight into the gateway's store and prints them, one a line. Shops mint through the shop channel instead.", "tollgate keys mint --data /var/lib/tollgate --product 1AJS2 --count 10 --years 1"},
		{"list", "keys list --data DIR", "Lists the gateway's lease-signing keys: the one signing now, then the earlier ones, with their retire dates.", "tollgate keys list --data /var/lib/tollgate"},
		{"rotate", "keys rotate --data DIR [--scheme mldsa44-ed25519] [--retire-after DATE]", "Makes a new lease-signing key. New leases are signed with it and carry a statement, signed by the current key, from which installed apps learn it; leases signed before stay good until they expire, and apps trust the current key for new leases until --retire-after (default: 90 days from now). A running gateway switches at once, without a restart. The card then lists both keys, the new one first: ship it with your next release. On several gateways sharing one database, rotate one, copy its lease.key and server.card to the others and restart them.", "tollgate keys rotate --data /var/lib/tollgate --retire-after 2027-03-01"},
		{"retire", "keys retire --data DIR --after DATE KEYID", "Dates an earlier lease key's retirement on the card (apps built with that card stop trusting it for new leases after DATE). Apps that learned the current key from a statement keep the date the rotation gave. The key signing now cannot be retired: rotate first.", "tollgate keys retire --data /var/lib/tollgate --after 2027-03-01 3f2a9c01d4e5b6a7"},
		{"transport", "keys transport --data DIR", "Lists the gateway's transport keys (the Noise static key and the TLS pin the card names): the current ones, and the announced next or the previous ones during a rotation. Public keys only.", "tollgate keys transport --data /var/lib/tollgate"},
		{"announce-transport", "keys announce-transport --data DIR", "Makes the next Noise static key and TLS key and certificate (kept in transport.keys, 0600) and adds next-noise-key and next-tls-pin lines to the card. Apps with that card accept the gateway with either identity. Ship the card with your next release, then switch. A running gateway accepts the next keys at once.", "tollgate keys announce-transport --data /var/lib/tollgate"},
		{"switch-transport", "keys switch-transport --data DIR", "Makes the announced keys the current ones and keeps the current ones as previous: new connections are served with the new certificate and Noise key, while apps with the earlier card (which name the previous pin, or no pin) still get the previous certificate and key. The card then names the new keys alone. Sessions open go on; no restart. Run it again if it was interrupted.", "tollgate keys switch-transport --data /var/lib/tollgate"},
		{"retire-transport", "keys retire-transport --data DIR", "Deletes the previous transport keys: apps whose card names only them are refused (wrong-server) until they get the current card. Run it once the apps you care about have the card the announcement wrote, or a later one.", "tollgate keys retire-transport --data /var/lib/tollgate"},
	},
}

// single are the commands without subcommands: what each does and an
// example.
var single = map[string]sub{
	"init":    {"init", "init --data DIR [--addr HOST:PORT[,HOST:PORT...]] [--scheme mldsa44-ed25519|mldsa65-ed25519] [--store postgres://...]", "Creates a gateway identity (keys, certificate, server card) in DIR, once. Every argument is checked first; a failed init leaves nothing behind. With --store the gateway keeps its state in that PostgreSQL database (reached, and its schema made, before anything is written), which further gateways share: give each a copy of DIR.", "tollgate init --data /var/lib/tollgate --addr license.example.com:7443"},
	"migrate": {"migrate", "migrate --data DIR [--status]", "Shows (--status) or upgrades the schema of the gateway's PostgreSQL store. A starting gateway upgrades it by itself; a gateway older than the schema refuses to start.", "tollgate migrate --data /var/lib/tollgate --status"},
	"card":    {"card", "card --data DIR [--addr HOST:PORT[,HOST:PORT...]] [--write]", "Prints the server card, with the public addresses given (several gateways of one deployment: in order of preference; clients try the one that answered last first). With --write, DIR/server.card is rewritten too, same keys.", "tollgate card --data /var/lib/tollgate --addr gw1.example.com:7443,gw2.example.com:7443 > app/server.card"},
	"serve":   {"serve", "serve --data DIR [flags]", "Serves apps over QUIC until SIGINT or SIGTERM, then stops gracefully.", "tollgate serve --data /var/lib/tollgate --listen 0.0.0.0:7443"},
	"run":     {"run", "run --data DIR [flags]", "Initialises DIR on first use with the demo catalogue and five demo keys, then serves.", "tollgate run --data /tmp/tollgate-demo"},
	"audit":   {"audit", "audit --data DIR [--since 2006-01-02T15:04:05Z | --since 24h] [--verify]", "Lists the audit log (every mint, status change and catalogue or shop change), or checks its hash chain.", "tollgate audit --data /var/lib/tollgate --since 24h"},
	"stats":   {"stats", "stats --data DIR", "Prints a running gateway's counters: sessions, answers by kind and status, store.", "tollgate stats --data /var/lib/tollgate --json"},
	"backup":  {"backup", "backup --data DIR --out FILE", "Writes a consistent copy of the gateway in DIR into FILE: its identity (noise.key, tls.key, lease.key, keyhash.secret, ...) and a snapshot of its store holding everything acknowledged before the backup began. A running gateway takes the snapshot itself, through its admin socket (run this as the gateway's user or root); a stopped gateway's store is opened directly.  FILE is a tar (gzipped if it ends in .gz or .tgz), written with mode 0600: it holds the gateway's PRIVATE KEYS and the secret of its key hashes. Whoever has it can impersonate the gateway: keep it as you keep DIR, and encrypt it before it leaves the machine. An existing FILE is not replaced.", "tollgate backup --data /var/lib/tollgate --out /root/tollgate-2026-11-27.tar.gz"},
	"restore": {"restore", "restore --in FILE --data DIR", "Restores a backup written by 'tollgate backup' into DIR, which must not exist or be empty: restore never writes over a data directory, live or not, and refuses while a gateway serves DIR. Directories are made 0700, files 0600. Then start the gateway with 'tollgate serve --data DIR'.", "tollgate restore --in /root/tollgate-2026-11-27.tar.gz --data /var/lib/tollgate"},
	"demo":    {"demo", "demo", "Runs a whole round trip in a temporary directory (a gateway, a shop minting, an app activating), then walks through the licensing models on made-up machines with the client library: a floating key's seats checked out, refused no-seat and checked in; a keyless trial, refused trial-used on a reinstall (in English and German); a bundle's key licensing two products; a plug-in refused base-missing until its base is licensed on the same installation. Leaves nothing running.", "tollgate demo"},
}

// groupHelp prints the subcommands of group, one a line, and an example.
func groupHelp(w io.Writer, group string) {
	subs := groups[group]
	fmt.Fprintf(w, "Usage: tollgate %s SUBCOMMAND --data DIR [flags] [--json]\n\nSubcommands:\n", group)
	for _, s := range subs {
		fmt.Fprintf(w, "  %-8s %s\n", s.name, s.does)
	}
	fmt.Fprintf(w, "\nExample:\n  %s\n\nRun 'tollgate %s SUBCOMMAND --help' for its flags.\n", subs[0].example, group)
}

// helpOf returns the help of a command ("init", "product add", ...).
func helpOf(name string) sub {
	group, s, _ := strings.Cut(name, " ")
	for _, c := range groups[group] {
		if c.name == s {
			return c
		}
	}
	return single[name]
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// noJSON are the commands that print no answer: a server's lines and the
// demo's story.
var noJSON = map[string]bool{"serve": true, "run": true, "demo": true}

// jsonFlag reports whether --json was given to fs (newFlags defines it).
func jsonFlag(fs *flag.FlagSet) bool {
	f := fs.Lookup("json")
	return f != nil && f.Value.String() == "true"
}

// newFlags returns the flag set of the command name ("init", "product
// add", ...), with --json unless noJSON, whose help says what the command does and
// gives an example.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	h := helpOf(name)
	fs := flag.NewFlagSet("tollgate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: tollgate %s\n\n%s\n\nExample:\n  %s\n\nFlags (before or after the arguments):\n", h.usage, h.does, h.example)
		fs.PrintDefaults()
	}
	if !noJSON[name] {
		fs.Bool("json", false, "print the answer, or the error, as one JSON object on stdout")
	}
	return fs
}

// parseFlags parses args with fs, flags before or after the positional
// arguments ("--" ends the flags), and returns the positional arguments.
// --help prints the command's help on stdout and returns flag.ErrHelp; a
// flag error is a usage error.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, error) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if isHelp(a) && a != "help" {
			fs.SetOutput(stdout)
			fs.Usage()
			return nil, flag.ErrHelp
		}
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError("%v (run 'tollgate %s --help')", err, strings.TrimPrefix(fs.Name(), "tollgate "))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// usageError is a command not valid as given: gateway.ErrUsage, exit
// status 2.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", gateway.ErrUsage, fmt.Sprintf(format, args...))
}

// oneOf refuses more than one of the named flags set together.
func oneOf(fs *flag.FlagSet, names ...string) error {
	var set []string
	fs.Visit(func(f *flag.Flag) {
		for _, n := range names {
			if f.Name == n {
				set = append(set, "--"+n)
			}
		}
	})
	if len(set) > 1 {
		return usageError("%s cannot be given together: choose one term", strings.Join(set, " and "))
	}
	return nil
}

// given returns the names of the flags set on the command line.
func given(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// needData refuses a command without --data.
func needData(data string) error {
	if data == "" {
		return usageError("--data DIR is required")
	}
	return nil
}

// asJSON reports whether the command's --json flag is set.
func asJSON(fs *flag.FlagSet) bool {
	f := fs.Lookup("json")
	return f != nil && f.Value.String() == "true"
}

// errReported is an error the command has already written (as JSON on
// stdout): main only sets the exit status.
type errReported struct{ err error }

func (e errReported) Error() string { return e.err.Error() }
func (e errReported) Unwrap() error { return e.err }

// exitStatus is the exit status of a command that failed with err: 2 for a
// command not valid as given, 1 for any other failure.
func exitStatus(err error) int {
	if errors.Is(err, gateway.ErrUsage) {
		return 2
	}
	return 1
}
