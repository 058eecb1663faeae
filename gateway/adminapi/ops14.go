package adminapi

import "github.com/tollgate/tollgate/store"

// The operations of licenses found by a query and of single machines, and
// the store's snapshot a backup is made of.
var (
	OpLicenseList              = Op[store.LicenseQuery, LicenseList]{"license.list"}
	OpLicenseDeactivateMachine = Op[MachineRef, License]{"license.deactivate_machine"}
	OpStoreSnapshot            = Op[Snapshot, None]{"store.snapshot"}
)

// LicenseList is one page of a license list: Next, when not empty, is the
// cursor of the following page (store.LicenseQuery.After).
type LicenseList struct {
	Licenses []ListedLicense `json:"licenses"`
	Next     string          `json:"next,omitempty"`
}

// ListedLicense is a license as a list shows it: never its key.
type ListedLicense struct {
	License store.License `json:"license"`
	Status  string        `json:"status"`
	Expiry  int64         `json:"expiry,omitempty"`
}

// MachineRef names one machine of a license: the license by its key or id
// (as LicenseKey), the machine by its machine id (the hex digits license
// show prints beside it: service.MachineID).
type MachineRef struct {
	Key     string `json:"key"`
	Machine string `json:"machine"`
}

// Snapshot asks the gateway to write a consistent copy of its store into
// Dir, an absolute path that must not exist yet (store.Store.Snapshot).
// The copy holds every activation and change acknowledged before the
// request.
type Snapshot struct {
	Dir string `json:"dir"`
}

// CodeNoSnapshot is store.ErrNoSnapshot: the store's backend is backed up
// with its database's own tools.
const CodeNoSnapshot Code = "no_snapshot"

// Licenses returns one page of the licenses q selects.
func (c *Client) Licenses(q store.LicenseQuery) (LicenseList, error) {
	return Call(c, OpLicenseList, q)
}

// DeactivateMachine frees the seat of one machine of the license of key
// (a key or a license id), leaving its other seats.
func (c *Client) DeactivateMachine(key, machine string) (License, error) {
	return Call(c, OpLicenseDeactivateMachine, MachineRef{Key: key, Machine: machine})
}

// Snapshot writes a consistent copy of the gateway's store into dir, an
// absolute path that must not exist yet.
func (c *Client) Snapshot(dir string) error {
	_, err := Call(c, OpStoreSnapshot, Snapshot{Dir: dir})
	return err
}
