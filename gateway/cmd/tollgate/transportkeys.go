package main

import (
	"fmt"
	"io"
	"time"

	"github.com/tollgate/tollgate/gateway/adminapi"
)

// transportKeyCommands are the keys subcommands on the gateway's transport
// keys (the Noise static key and the TLS key and certificate the card
// names), added to leaseKeyCommands.
var transportKeyCommands = map[string]func(args []string, stdout, stderr io.Writer) error{
	"transport":          cmdTransport("transport", "", (*adminapi.Client).TransportKeys),
	"announce-transport": cmdTransport("announce-transport", "next transport keys announced: the card (tollgate card --data %[1]s) now names them beside the current ones. Ship it with your next release; once the apps that matter run it, run `tollgate keys switch-transport --data %[1]s`.\n", (*adminapi.Client).AnnounceTransport),
	"switch-transport":   cmdTransport("switch-transport", "switched: new connections are served with the announced keys; the previous ones are still accepted (apps with the earlier card keep working) until `tollgate keys retire-transport --data %[1]s`. The card now names the new keys alone: ship it to new installs.\n", (*adminapi.Client).SwitchTransport),
	"retire-transport":   cmdTransport("retire-transport", "previous transport keys retired: apps whose card names only them are refused (wrong-server) until they get the current card.\n", (*adminapi.Client).RetireTransport),
}

func init() {
	for k, v := range transportKeyCommands {
		leaseKeyCommands[k] = v
	}
}

// cmdTransport returns the command keys NAME: op through the running
// gateway's admin socket (new connections use the keys at once) or on
// the stopped gateway's data directory; done, if not empty, is said
// before the keys are listed.
func cmdTransport(name, done string, op func(*adminapi.Client) (adminapi.TransportKeys, error)) func(args []string, stdout, stderr io.Writer) error {
	return func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags("keys "+name, stderr)
		data := fs.String("data", "", "data directory (required)")
		pos, err := parseFlags(fs, args, stdout)
		if err != nil {
			return err
		}
		if *data == "" || len(pos) != 0 {
			return usageError("tollgate keys %s --data DIR", name)
		}
		var ks adminapi.TransportKeys
		if err := withKeysAdmin(*data, func(c *adminapi.Client) (err error) { ks, err = op(c); return err }); err != nil {
			return err
		}
		if jsonFlag(fs) {
			return writeJSON(stdout, ks)
		}
		if done != "" {
			fmt.Fprintf(stdout, done, *data)
		}
		for _, k := range ks.Keys {
			line := fmt.Sprintf("%-8s  %s  %s", k.Role, k.NoiseKey, k.TLSPin)
			if k.Since != 0 {
				what := "announced"
				if k.Role == "previous" {
					what = "until the switch of"
				}
				line += "  " + what + " " + time.Unix(k.Since, 0).UTC().Format(time.RFC3339)
			}
			fmt.Fprintln(stdout, line)
		}
		return nil
	}
}
