package pgstore

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/store"
)

// cursorPrefix begins every cursor of Licenses: "l1." and the hex id of
// the page's last license.
const cursorPrefix = "l1."

// Licenses returns one page of the licenses q selects, in the order of
// their ids; the cursor names the last license of a page.
//
// Its cost: the filters select in SQL, through the indexes of their
// columns (shop, order, product, state, expiry, id prefix), and
// store.LicenseQuery.Match checks each row read. A page reads its limit
// and one more license, except with q.Flagged, which reads the licenses
// with sightings (flagged or not: a damaged sightings row is only known by
// decoding it) until the page is full.
func (b *Backend) Licenses(q store.LicenseQuery) ([]store.License, string, error) {
	if err := b.errIfClosed(); err != nil {
		return nil, "", err
	}
	var after []byte
	if q.After != "" {
		h, err := hex.DecodeString(strings.TrimPrefix(q.After, cursorPrefix))
		if !strings.HasPrefix(q.After, cursorPrefix) || err != nil || len(h) != len(store.LicenseID{}) {
			return nil, "", fmt.Errorf("%w: %q is not a cursor of this store's license list; start again without one", store.ErrInvalid, q.After)
		}
		after = h
	}
	if len(q.IDPrefix) > len(store.LicenseID{}) {
		return nil, "", fmt.Errorf("%w: a license id prefix of %d bytes", store.ErrInvalid, len(q.IDPrefix))
	}
	sql, args := licenseQuery(&q, after)
	ctx, cancel := b.ctx()
	defer cancel()
	rows, err := b.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, "", b.fail("list licenses", err)
	}
	defer rows.Close()
	var (
		out  []store.License
		next string
	)
	for rows.Next() {
		var (
			r      licenseRow
			at     *int64
			reason *string
			list   []byte
		)
		if err := rows.Scan(append(r.scan(), &at, &reason, &list)...); err != nil {
			return nil, "", b.fail("list licenses", err)
		}
		l, err := r.decode()
		if err != nil {
			return nil, "", err
		}
		flagged := false
		if at != nil && reason != nil {
			sg, err := decodeSightings(*at, *reason, list)
			flagged = err != nil || sg.FlaggedAt != 0
		}
		if !q.Match(&l, flagged) {
			continue
		}
		if q.Limit > 0 && len(out) == q.Limit {
			// One more selected: this page is not the last.
			next = cursorPrefix + hex.EncodeToString(out[len(out)-1].ID[:])
			break
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, "", b.fail("list licenses", err)
	}
	return out, next, nil
}

// licenseQuery returns the SQL of q's page after the license id after
// (nil: from the start), with its arguments: licenseCols and the
// license's sightings columns (NULL when none), ordered by id.
func licenseQuery(q *store.LicenseQuery, after []byte) (string, []any) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if after != nil {
		where = append(where, "l.id > "+arg(after))
	}
	if len(q.IDPrefix) > 0 {
		where = append(where, "l.id >= "+arg(q.IDPrefix))
		if end := prefixEnd(q.IDPrefix); end != nil {
			where = append(where, "l.id < "+arg(end))
		}
	}
	if q.Shop != "" {
		where = append(where, "l.shop = "+arg(q.Shop))
	}
	if q.Order != "" {
		where = append(where, "l.order_id = "+arg(q.Order))
	}
	if q.Product != "" {
		where = append(where, "l.product = "+arg(q.Product))
	}
	if q.State != nil {
		where = append(where, "l.state = "+arg(int64(*q.State)))
	}
	if q.ExpiringBefore != 0 {
		where = append(where, "l.expiry <> 0 AND l.expiry < "+arg(q.ExpiringBefore))
	}
	join := "LEFT JOIN"
	if q.Flagged {
		join = "JOIN"
	}
	sql := "SELECT " + licenseColsOf("l") + ", s.flagged_at, s.reason, s.list FROM tollgate_licenses l " +
		join + " tollgate_sightings s ON s.license = l.id"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY l.id"
	if q.Limit > 0 && !q.Flagged {
		// The SQL filters are then exact: the page and one more (which
		// says there is a next page) are all that is read.
		sql += " LIMIT " + arg(int64(q.Limit)+1)
	}
	return sql, args
}

// prefixEnd returns the least byte string above every one that begins
// with p, or nil when there is none (p is all 0xff).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
