package service

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
)

// Operators name a license by its key or by its id, as the logs, the audit
// log and the flagged list print it, and a machine of a license by its
// machine id: these are the names and how they are found.

// MachineIDLen is how many hex digits of an install id name a machine of a
// license (MachineID): a license has few machines, so the 32 bits are
// unambiguous but for a one-in-a-billion chance, which FindMachine refuses
// rather than guesses.
const MachineIDLen = 8

// MachineID returns the name of an activation's machine an operator sees
// and gives to DeactivateMachine: the first hex digits of its install id
// (which is a hash of the install's public key, so it says nothing of the
// machine).
func MachineID(install store.InstallID) string {
	return hex.EncodeToString(install[:MachineIDLen/2])
}

// FindLicense returns the license ref names: a license key (in any
// spelling keygen.ParseKey accepts), its full license id (32 hex digits),
// or the first hex digits of its id (at least 8, as LicenseRef prints it)
// when only one license's id begins with them. An error never holds ref,
// which may be a key.
func FindLicense(st *store.Store, hasher *keygen.Hasher, ref string) (store.License, error) {
	ref = strings.TrimSpace(ref)
	// A key first: one whose characters all happen to be hex digits is
	// still a key, its check character says so.
	if k, err := keygen.ParseKey(ref); err == nil {
		lic, err := st.LicenseByKeyHash(hasher.Hash(k))
		if errors.Is(err, store.ErrNotFound) {
			return store.License{}, errShopUnknownKey
		}
		return lic, err
	}
	id, isID := parseIDRef(ref)
	if !isID {
		return store.License{}, ErrLicenseRef
	}
	if len(id) == len(store.LicenseID{}) {
		lic, err := st.LicenseByID(store.LicenseID(id))
		if errors.Is(err, store.ErrNotFound) {
			return store.License{}, refusef(KindNotFound, "no license has the id %x", id)
		}
		return lic, err
	}
	ls, _, err := st.Licenses(store.LicenseQuery{IDPrefix: id, Limit: 2})
	switch {
	case err != nil:
		return store.License{}, err
	case len(ls) == 0:
		return store.License{}, refusef(KindNotFound, "no license id begins with %x", id)
	case len(ls) > 1:
		return store.License{}, refusef(KindBadRequest, "more than one license id begins with %x: give the whole id (32 hex digits, as 'tollgate license list' prints it)", id)
	}
	return ls[0], nil
}

// ErrLicenseRef is FindLicense's refusal of a reference that is neither a
// license key nor a license id. It is this very error (compare with ==):
// errors.Is matches every refusal of its kind.
var ErrLicenseRef = refuse(KindBadRequest, "not a valid license key, nor a license id (32 hex digits, or the first 8 or more of them)")

// parseIDRef returns the bytes of ref when it is a license id or its
// beginning: 8 to 32 hex digits, an even number of them.
func parseIDRef(ref string) ([]byte, bool) {
	if len(ref) < 8 || len(ref) > 32 || len(ref)%2 != 0 {
		return nil, false
	}
	b, err := hex.DecodeString(ref)
	return b, err == nil
}

// DeactivateMachine frees the seat of one machine of lic, the one whose
// machine id (MachineID, or a longer beginning of its install id in hex)
// is machine, durably and audited, and leaves the other seats as they are.
// The install it names activates again as a new machine, if a seat is
// free then. It returns the license and its activations afterwards.
func DeactivateMachine(st *store.Store, lic store.License, machine string, now time.Time) (LicenseState, error) {
	want := strings.ToLower(strings.TrimSpace(machine))
	if len(want) < MachineIDLen || len(want) > 2*len(store.InstallID{}) || strings.Trim(want, "0123456789abcdef") != "" {
		return LicenseState{}, refusef(KindBadRequest, "a machine id is the %d hex digits 'tollgate license show' prints beside the machine", MachineIDLen)
	}
	var res LicenseState
	err := st.Update(lic.ID, func(tx *store.Tx) error {
		var found []store.Activation
		for _, a := range tx.Activations {
			if strings.HasPrefix(hex.EncodeToString(a.Install[:]), want) {
				found = append(found, a)
			}
		}
		switch len(found) {
		case 0:
			return refusef(KindNotActivated, "no machine %s holds a seat of license %s: 'tollgate license show' lists them", want, LicenseRef(lic.ID))
		case 1:
		default:
			return refusef(KindBadRequest, "%d machines of license %s have ids beginning %s: give more of the id", len(found), LicenseRef(lic.ID), want)
		}
		a := found[0]
		tx.DeleteActivation(a.Install)
		recordSeat(tx, store.EventDeactivated, a.Hostname)
		res = LicenseState{License: tx.License, Activations: append([]store.Activation(nil), tx.Activations...)}
		tx.Audit = &store.AuditEntry{Time: now.Unix(), Kind: "license.deactivate-machine", License: LicenseRef(lic.ID),
			Detail: fmt.Sprintf("machine %s (%s) by operator", MachineID(a.Install), a.Hostname)}
		return nil
	})
	if err != nil {
		return LicenseState{}, err
	}
	return res, nil
}
