package clients

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tollgate/tollgate/internal/atomicfile"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/wire"
)

// State files in a client's state directory, readable by the owner only.
const (
	FileInstallKey = "install.key" // the per-install Noise static key
	FileLicense    = "license"     // the license id, hex
	FileLease      = "lease"       // the current signed lease, armored
)

// State is what an installation keeps between runs.
type State struct {
	Dir        string
	InstallKey channel.PrivateKey
	LicenseID  [wire.LicenseIDSize]byte
	HasLicense bool
	Lease      []byte // encoded signed lease, nil when none
}

// LoadState reads the state in dir, creating the directory and a new
// install key on first use. A missing or damaged license or lease file is
// not an error: it reads as "not activated" (and errLease says why), so the
// program recovers by activating or validating again.
func LoadState(dir string) (st *State, damaged error, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("clients: state directory: %w", err)
	}
	st = &State{Dir: dir}
	keyPath := filepath.Join(dir, FileInstallKey)
	st.InstallKey, err = channel.ReadPrivateKeyFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		if st.InstallKey, err = channel.GenerateKey(nil); err != nil {
			return nil, nil, err
		}
		if err = channel.WritePrivateKeyFile(keyPath, st.InstallKey); err != nil {
			return nil, nil, err
		}
	} else if err != nil {
		return nil, nil, fmt.Errorf("clients: install key: %w", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, FileLicense)); err == nil {
		id, herr := hex.DecodeString(strings.TrimSpace(string(b)))
		if herr != nil || len(id) != wire.LicenseIDSize {
			damaged = fmt.Errorf("%w: the license file is damaged", ErrState)
		} else {
			copy(st.LicenseID[:], id)
			st.HasLicense = true
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, FileLease)); err == nil {
		raw, derr := wire.DearmorLease(b)
		if derr != nil {
			damaged = fmt.Errorf("%w: the lease file is damaged: %w", ErrState, derr)
		} else {
			st.Lease = raw
		}
	}
	return st, damaged, nil
}

// Save writes the license id and lease atomically (write, fsync, rename).
func (st *State) Save() error {
	if !st.HasLicense {
		for _, f := range []string{FileLicense, FileLease} {
			if err := os.Remove(filepath.Join(st.Dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("clients: %w", err)
			}
		}
		return nil
	}
	if err := atomicfile.Write(filepath.Join(st.Dir, FileLicense), []byte(hex.EncodeToString(st.LicenseID[:])+"\n"), 0o600); err != nil {
		return fmt.Errorf("clients: save license: %w", err)
	}
	if st.Lease != nil {
		if err := atomicfile.Write(filepath.Join(st.Dir, FileLease), wire.ArmorLease(st.Lease), 0o600); err != nil {
			return fmt.Errorf("clients: save lease: %w", err)
		}
	}
	return nil
}
