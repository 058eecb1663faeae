package pgstore

import (
	"context"
	"encoding/hex"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/store"
)

// channel is the LISTEN/NOTIFY channel of the gateways' changes.
const channel = "tollgate_changes"

// Notification payloads: "l" and the hex license id, "shops", "products".
const (
	payloadLicense  = "l"
	payloadShops    = "shops"
	payloadProducts = "products"
)

// licensePayload is the notification of a change of license id.
func licensePayload(id store.LicenseID) string { return payloadLicense + hex.EncodeToString(id[:]) }

// parsePayload returns the change a notification payload reports; ok is
// false for a payload this gateway does not know.
func parsePayload(p string) (c store.Change, ok bool) {
	switch {
	case p == payloadShops:
		return store.Change{Kind: store.ChangeShops}, true
	case p == payloadProducts:
		return store.Change{Kind: store.ChangeProducts}, true
	case strings.HasPrefix(p, payloadLicense):
		h, err := hex.DecodeString(p[len(payloadLicense):])
		if err != nil || len(h) != len(store.LicenseID{}) {
			return store.Change{}, false
		}
		return store.Change{Kind: store.ChangeLicense, License: store.LicenseID(h)}, true
	}
	return store.Change{}, false
}

// queueNotify queues, in a transaction's batch, the notification of a
// change: PostgreSQL delivers it to every listener when (and only if) the
// transaction commits, in the order of the commits.
func queueNotify(batch *pgx.Batch, payload string) {
	batch.Queue(`SELECT pg_notify($1, $2)`, channel, payload)
}

// notify sends the notification of a change in tx (queueNotify).
func notify(ctx context.Context, tx pgx.Tx, payload string) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
	return err
}
