package main

import (
	"context"
	"fmt"
	"io"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/store/pgstore"
)

// cmdMigrate shows or upgrades the schema of the gateway's shared store.
func cmdMigrate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	data := fs.String("data", "", "data directory (required)")
	status := fs.Bool("status", false, "show the schema's version and the newest this tollgate knows; change nothing")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if err := needData(*data); err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("migrate takes no arguments, only flags")
	}
	u, err := gateway.StoreURL(*data)
	if err != nil {
		return err
	}
	if u == "" {
		return usageError("the gateway of %s keeps its state in the embedded store, which upgrades itself: there is nothing to migrate", *data)
	}
	ctx := context.Background()
	if *status {
		current, latest, err := pgstore.Status(ctx, u)
		if err != nil {
			return err
		}
		if asJSON(fs) {
			return writeJSON(stdout, map[string]int{"version": current, "latest": latest})
		}
		switch {
		case current < latest:
			fmt.Fprintf(stdout, "schema version %d; this tollgate knows %d: 'tollgate migrate --data %s' upgrades it (a starting gateway does too)\n", current, latest, *data)
		default:
			fmt.Fprintf(stdout, "schema version %d, the newest this tollgate knows\n", current)
		}
		return nil
	}
	from, to, err := pgstore.Migrate(ctx, u)
	if err != nil {
		return err
	}
	if asJSON(fs) {
		return writeJSON(stdout, map[string]int{"from": from, "to": to})
	}
	if from == to {
		fmt.Fprintf(stdout, "schema version %d already; nothing to do\n", to)
	} else {
		fmt.Fprintf(stdout, "schema upgraded from version %d to %d\n", from, to)
	}
	return nil
}
