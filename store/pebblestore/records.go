package pebblestore

import (
	"encoding/json"
	"fmt"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// Record versions. Part of the on-disk format. Version 1 records are JSON
// objects with a "v" field; version 2 records are binary (recbin.go) and
// begin with the byte 2, which no JSON text does. Records are written in
// version 2 and read in either. Activations are written in version 3
// (binary, with flags) and read in any.
const (
	recordVersion   = 1
	recordVersionV2 = 2
	recordVersionV3 = 3
)

type licenseRecord struct {
	V int `json:"v"`
	*store.License
}

type activationRecord struct {
	V  int    `json:"v"`
	FP []byte `json:"fp"`
	*store.Activation
}

// unknownActs is the activation count of a license record that does not
// keep one (version 1): the store must look.
const unknownActs = -1

// encodeLicense encodes l with the number of activations it has (0 for a
// new license), which lets Update skip looking for activations of a
// license that has none.
func encodeLicense(l *store.License, acts int) ([]byte, error) {
	return appendLicenseV2(nil, l, acts)
}

// decodeLicenseActs decodes a license record and the number of activations
// it records, or unknownActs.
func decodeLicenseActs(b []byte) (store.License, int, error) {
	if len(b) > 0 && (b[0] == recordVersionV2 || b[0] == recordVersionV3) {
		return parseLicenseV2(b)
	}
	var l store.License
	r := licenseRecord{License: &l}
	if err := json.Unmarshal(b, &r); err != nil {
		return store.License{}, 0, fmt.Errorf("%w: license: %w", store.ErrCorrupt, err)
	}
	if r.V != recordVersion {
		return store.License{}, 0, fmt.Errorf("%w: license record version %d", store.ErrCorrupt, r.V)
	}
	// As version 2 reads them: an empty list is no list.
	if len(l.Bundle) == 0 {
		l.Bundle = nil
	}
	if len(l.Entitlements) == 0 {
		l.Entitlements = nil
	}
	return l, unknownActs, nil
}

func encodeActivation(a *store.Activation) ([]byte, error) {
	return appendActivationV3(nil, a)
}

func decodeActivation(b []byte) (store.Activation, error) {
	if len(b) > 0 && (b[0] == recordVersionV2 || b[0] == recordVersionV3) {
		return parseActivationBin(b)
	}
	var a store.Activation
	r := activationRecord{Activation: &a}
	if err := json.Unmarshal(b, &r); err != nil {
		return store.Activation{}, fmt.Errorf("%w: activation: %w", store.ErrCorrupt, err)
	}
	if r.V != recordVersion {
		return store.Activation{}, fmt.Errorf("%w: activation record version %d", store.ErrCorrupt, r.V)
	}
	fp, n, err := wire.ParseFingerprint(r.FP)
	if err != nil || n != len(r.FP) {
		return store.Activation{}, fmt.Errorf("%w: activation fingerprint", store.ErrCorrupt)
	}
	a.Fingerprint = fp
	if len(a.Lease) == 0 {
		a.Lease = nil
	}
	return a, nil
}
