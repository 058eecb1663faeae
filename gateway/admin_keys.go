package gateway

import (
	"fmt"
	"time"

	"github.com/tollgate/tollgate/gateway/adminapi"
)

// leaseKeys answers keys.list.
func (a *Admin) leaseKeys(adminapi.None) (adminapi.LeaseKeys, error) {
	if err := a.needDir(); err != nil {
		return adminapi.LeaseKeys{}, err
	}
	id, err := LoadIdentity(a.Dir)
	if err != nil {
		return adminapi.LeaseKeys{}, err
	}
	return id.LeaseKeys.List(), nil
}

// rotateLeaseKey answers keys.rotate: RotateLeaseKey on the data
// directory, then, in a running gateway, the switch of the key it signs
// with (Admin.Signer), so that the next lease signed is the new key's.
func (a *Admin) rotateLeaseKey(req adminapi.KeyRotation) (adminapi.LeaseKeys, error) {
	if err := a.needDir(); err != nil {
		return adminapi.LeaseKeys{}, err
	}
	opts := RotateOptions{Now: a.now()}
	if req.Scheme != "" {
		s, err := ParseScheme(req.Scheme)
		if err != nil {
			return adminapi.LeaseKeys{}, fmt.Errorf("%w: --scheme: %w", ErrUsage, err)
		}
		opts.Scheme = s
	}
	if req.RetireAfter != 0 {
		opts.RetireAfter = time.Unix(req.RetireAfter, 0)
	}
	set, err := RotateLeaseKey(a.Dir, opts)
	if err != nil {
		return adminapi.LeaseKeys{}, err
	}
	if a.Signer != nil {
		a.Signer.Set(set.Current, set.Statement, set.since())
	}
	return set.List(), nil
}

// retireLeaseKey answers keys.retire.
func (a *Admin) retireLeaseKey(req adminapi.KeyRetirement) (adminapi.LeaseKeys, error) {
	if err := a.needDir(); err != nil {
		return adminapi.LeaseKeys{}, err
	}
	set, err := RetireLeaseKey(a.Dir, req.ID, time.Unix(req.After, 0))
	if err != nil {
		return adminapi.LeaseKeys{}, err
	}
	return set.List(), nil
}

// needDir refuses a key operation of an Admin that was given no data
// directory.
func (a *Admin) needDir() error {
	if a.Dir == "" {
		return fmt.Errorf("%w: the lease keys are those of a data directory, and this admin has none", ErrConfig)
	}
	return nil
}

// transportKeys answers keys.transport.
func (a *Admin) transportKeys(adminapi.None) (adminapi.TransportKeys, error) {
	if err := a.needDir(); err != nil {
		return adminapi.TransportKeys{}, err
	}
	id, err := LoadIdentity(a.Dir)
	if err != nil {
		return adminapi.TransportKeys{}, err
	}
	return id.TransportList(), nil
}

// announceTransport answers keys.announce_transport: AnnounceTransport on
// the data directory, then, in a running gateway, new connections accept
// the next keys as well.
func (a *Admin) announceTransport(adminapi.None) (adminapi.TransportKeys, error) {
	return a.transportOp(func() (*Identity, error) { return AnnounceTransport(a.Dir, TransportOptions{Now: a.now()}) })
}

// switchTransport answers keys.switch_transport.
func (a *Admin) switchTransport(adminapi.None) (adminapi.TransportKeys, error) {
	return a.transportOp(func() (*Identity, error) { return SwitchTransport(a.Dir, TransportOptions{Now: a.now()}) })
}

// retireTransport answers keys.retire_transport.
func (a *Admin) retireTransport(adminapi.None) (adminapi.TransportKeys, error) {
	return a.transportOp(func() (*Identity, error) { return RetireTransport(a.Dir) })
}

// transportOp runs op on the data directory and hands the identity it
// leaves to the running gateway's new connections.
func (a *Admin) transportOp(op func() (*Identity, error)) (adminapi.TransportKeys, error) {
	if err := a.needDir(); err != nil {
		return adminapi.TransportKeys{}, err
	}
	id, err := op()
	if err != nil {
		return adminapi.TransportKeys{}, err
	}
	if a.Transport != nil {
		a.Transport.p.Store(transportOf(id))
	}
	return id.TransportList(), nil
}
