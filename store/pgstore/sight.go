package pgstore

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/store"
)

// Sightings returns the sightings of the license with this id (none yet:
// the zero value).
func (b *Backend) Sightings(id store.LicenseID) (store.Sightings, error) {
	if err := b.errIfClosed(); err != nil {
		return store.Sightings{}, err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	sg, err := sightings(ctx, b.pool, id)
	if errors.Is(err, store.ErrCorrupt) {
		return store.Sightings{}, err
	}
	return sg, b.fail("read sightings", err)
}

// sightings reads the license's sightings through q.
func sightings(ctx context.Context, q querier, id store.LicenseID) (store.Sightings, error) {
	var (
		at     int64
		reason string
		list   []byte
	)
	err := q.QueryRow(ctx, `SELECT flagged_at, reason, list FROM tollgate_sightings WHERE license = $1`, id[:]).Scan(&at, &reason, &list)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Sightings{}, nil
	}
	if err != nil {
		return store.Sightings{}, err
	}
	return decodeSightings(at, reason, list)
}

// FlaggedLicenses returns the flagged licenses, oldest flag first, at most
// limit of them (0: all). A license whose sightings row is damaged is
// listed first, with FlaggedAt 0 and store.DamagedSightings as its reason.
//
// Its cost: one scan of the sightings rows (a damaged row is only known
// by decoding it), joined with their licenses (sightings are only written
// by Update, of a license that exists).
func (b *Backend) FlaggedLicenses(limit int) ([]store.Flagged, error) {
	if err := b.errIfClosed(); err != nil {
		return nil, err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	rows, err := b.pool.Query(ctx, `SELECT s.flagged_at, s.reason, s.list, `+licenseColsOf("l")+`
		FROM tollgate_sightings s JOIN tollgate_licenses l ON l.id = s.license`)
	if err != nil {
		return nil, b.fail("read flagged licenses", err)
	}
	defer rows.Close()
	var out []store.Flagged
	for rows.Next() {
		var (
			at     int64
			reason string
			list   []byte
			r      licenseRow
		)
		if err := rows.Scan(append([]any{&at, &reason, &list}, r.scan()...)...); err != nil {
			return nil, b.fail("read flagged licenses", err)
		}
		sg, err := decodeSightings(at, reason, list)
		if err != nil {
			// Listed, so that the operator sees it and can clear it.
			sg = store.Sightings{Reason: store.DamagedSightings(err)}
		} else if sg.FlaggedAt == 0 {
			continue
		}
		l, err := r.decode()
		if err != nil {
			return nil, err
		}
		out = append(out, store.Flagged{License: l, Sightings: sg})
	}
	if err := rows.Err(); err != nil {
		return nil, b.fail("read flagged licenses", err)
	}
	slices.SortStableFunc(out, func(x, y store.Flagged) int { return cmp.Compare(x.Sightings.FlaggedAt, y.Sightings.FlaggedAt) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
