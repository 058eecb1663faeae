package gateway

import (
	"errors"
	"fmt"

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// licenses answers license.list: one page, of at most
// store.MaxLicensePage licenses, so that an answer stays a bounded line.
func (a *Admin) licenses(q store.LicenseQuery) (adminapi.LicenseList, error) {
	if q.Limit <= 0 || q.Limit > store.MaxLicensePage {
		q.Limit = store.MaxLicensePage
	}
	ls, next, err := a.St.Licenses(q)
	if err != nil {
		return adminapi.LicenseList{}, err
	}
	now := a.now().Unix()
	out := adminapi.LicenseList{Licenses: make([]adminapi.ListedLicense, len(ls)), Next: next}
	for i := range ls {
		out.Licenses[i] = adminapi.ListedLicense{License: ls[i], Status: service.LicenseStatus(&ls[i], now).String(), Expiry: ls[i].Expiry()}
	}
	return out, nil
}

// deactivateMachine answers license.deactivate_machine.
func (a *Admin) deactivateMachine(req adminapi.MachineRef) (adminapi.License, error) {
	lic, err := a.findLicense(req.Key)
	if err != nil {
		return adminapi.License{}, err
	}
	res, err := service.DeactivateMachine(a.St, lic, req.Machine, a.now())
	if err != nil {
		return adminapi.License{}, err
	}
	return a.licenseState(res)
}

// findLicense is service.FindLicense, a reference that is neither a key
// nor an id being the operator's error (ErrConfig).
func (a *Admin) findLicense(ref string) (store.License, error) {
	lic, err := service.FindLicense(a.St, a.Hasher, ref)
	if err == service.ErrLicenseRef {
		return store.License{}, fmt.Errorf("%w: %s", ErrUsage, err.Error())
	}
	return lic, err
}

// licenseState is what an operation on a license answers: the license
// afterwards, its activations and its sightings.
func (a *Admin) licenseState(res service.LicenseState) (adminapi.License, error) {
	sg, err := a.St.Sightings(res.License.ID)
	if errors.Is(err, store.ErrCorrupt) {
		sg, err = store.Sightings{Reason: store.DamagedSightings(err)}, nil
	}
	if err != nil {
		return adminapi.License{}, err
	}
	return a.adminLicense(res.License, res.Activations, sg), nil
}
