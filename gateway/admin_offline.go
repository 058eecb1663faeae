package gateway

import (
	"encoding/hex"
	"fmt"

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// answerOffline answers license.answer_offline: an air-gapped machine's
// activation request, activated as the app channel activates (the
// operator may answer for any license).
func (a *Admin) answerOffline(req adminapi.OfflineFile) (adminapi.OfflineAnswer, error) {
	if a.Svc == nil {
		return adminapi.OfflineAnswer{}, fmt.Errorf("%w: this admin has no license service to answer with", ErrConfig)
	}
	raw, err := wire.DearmorOfflineRequest([]byte(req.Text))
	if err != nil {
		return adminapi.OfflineAnswer{}, offlineFileError("this is not an activation request file (tollgate-client request writes one): %v", err)
	}
	r, _, err := wire.ParseOfflineRequest(raw)
	if err != nil {
		return adminapi.OfflineAnswer{}, offlineFileError("the activation request is malformed (%v); make it again on the machine", err)
	}
	act, err := a.Svc.AnswerOffline(&r, "")
	if err != nil {
		return adminapi.OfflineAnswer{}, err
	}
	return adminapi.OfflineAnswer{LicenseID: hex.EncodeToString(act.LicenseID[:]), Lease: string(wire.ArmorLease(act.Lease))}, nil
}

// releaseOffline answers license.release_offline: an air-gapped machine's
// release proof frees its seat.
func (a *Admin) releaseOffline(req adminapi.OfflineFile) (adminapi.License, error) {
	if a.Svc == nil {
		return adminapi.License{}, fmt.Errorf("%w: this admin has no license service to release with", ErrConfig)
	}
	raw, err := wire.DearmorOfflineRelease([]byte(req.Text))
	if err != nil {
		return adminapi.License{}, offlineFileError("this is not a release proof file (tollgate-client release writes one): %v", err)
	}
	rel, _, err := wire.ParseOfflineRelease(raw)
	if err != nil {
		return adminapi.License{}, offlineFileError("the release proof is malformed (%v); release the license on the machine again", err)
	}
	id, err := a.Svc.ImportRelease(&rel, "")
	if err != nil {
		return adminapi.License{}, err
	}
	return a.applyLicenseOp(hex.EncodeToString(id[:]), service.OpStatus, store.Term{})
}

// offlineFileError refuses a file that is not what the operation takes,
// as a bad request (the operator's file, not the gateway, is at fault).
func offlineFileError(format string, err error) error {
	return &service.Error{Kind: service.KindBadRequest, Msg: fmt.Sprintf(format, err)}
}
