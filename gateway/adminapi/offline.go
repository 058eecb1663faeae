package adminapi

// The operations of air-gapped machines: answering an activation request
// file with a lease, and importing a release proof to free a seat.
var (
	OpLicenseAnswerOffline  = Op[OfflineFile, OfflineAnswer]{"license.answer_offline"}
	OpLicenseReleaseOffline = Op[OfflineFile, License]{"license.release_offline"}
)

// OfflineFile is the armored text of an air-gapped machine's file: an
// activation request (-----BEGIN TOLLGATE ACTIVATION REQUEST-----) or a
// release proof (-----BEGIN TOLLGATE RELEASE PROOF-----). A request holds
// the license key sealed to the gateway: no one carrying it can read it.
type OfflineFile struct {
	Text string `json:"text"`
}

// OfflineAnswer is the answer to an activation request: the license's id
// (32 hex digits) and the armored lease (-----BEGIN TOLLGATE LEASE-----)
// to carry back to the machine.
type OfflineAnswer struct {
	LicenseID string `json:"license_id"`
	Lease     string `json:"lease"`
}

// CodeRequestMismatch is service.ErrRequestMismatch: the file was not made
// for this gateway, was changed, or (a release proof) is older than the
// machine's activation.
const CodeRequestMismatch Code = "request_mismatch"

// AnswerOffline answers the activation request file text with its lease.
func (c *Client) AnswerOffline(text []byte) (OfflineAnswer, error) {
	return Call(c, OpLicenseAnswerOffline, OfflineFile{Text: string(text)})
}

// ReleaseOffline imports the release proof file text, freeing the seat of
// the machine that wrote it, and returns the license afterwards.
func (c *Client) ReleaseOffline(text []byte) (License, error) {
	return Call(c, OpLicenseReleaseOffline, OfflineFile{Text: string(text)})
}
