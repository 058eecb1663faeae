package clients

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/internal/atomicfile"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/wire"
)

// State files in a client's state directory, each readable by the owner
// only and each replaced atomically (write, fsync, rename), so a crash
// leaves the old content or the new, never a torn file.
const (
	FileInstallKey = "install.key" // the per-install Noise static key; never overwritten
	FileLicense    = "license"     // "license-id-hex product\n"
	FileLease      = "lease"       // the current signed lease, armored
	FileChecks     = "checks"      // "counter last-contact\n", decimal
	FileClock      = "clock"       // the clock ratchet: latest trusted time, Unix seconds, "\n"-ended
	FileLock       = "lock"        // empty; locked while the checks file is read and written
)

// State is what an installation keeps between runs. It is not safe for
// concurrent use; Licensee serialises access.
type State struct {
	Dir        string
	InstallKey channel.PrivateKey
	LicenseID  [wire.LicenseIDSize]byte
	HasLicense bool
	Product    string // the product code the license was activated for
	Lease      []byte // encoded signed lease, nil when none
	// Counter is the last validation counter sent; each validation sends
	// one more (NextCounter). The gateway refuses a counter it has already
	// seen (INSTALL_CLONED): it is how a copy of this directory on another
	// machine is told from the original.
	Counter uint64
	// LastContact is when the gateway last answered a validation, by the
	// local clock, Unix seconds; 0 for never. It decides when the next
	// check is due at levels 2 and 3; it grants nothing by itself (a level
	// 3 deadline is read from the signed lease).
	LastContact int64
	// Trusted is the clock ratchet: the latest time, Unix seconds, known
	// to have passed (server times and this machine's clock while it was
	// trusted).
	Trusted int64
	// KeyStatements are the key statements by which this installation
	// learned the gateway's later lease keys (FileLeaseKeys), oldest first.
	KeyStatements [][]byte
}

// LoadState reads the state in dir, creating the directory (0700) and a new
// install key on first use. Damaged files are not errors: each reads as
// absent, and damaged says which (ErrState), so the program reports it and
// recovers by validating again. A damaged install key is set aside as
// install.key.damaged and replaced when no license is activated; with a
// license activated it is left in place and err wraps
// ErrInstallKeyDamaged, saying what to do (a new key would leave the
// license's seat held for good). err is for a directory that cannot be
// used at all.
func LoadState(dir string) (st *State, damaged error, err error) {
	_, serr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("clients: state directory: %w", err)
	}
	if errors.Is(serr, fs.ErrNotExist) {
		// Only a directory made here: one made by an installer or another
		// user keeps the access it was given, and opening it never fails
		// for want of the right to change it.
		if err := restrictDir(dir); err != nil {
			return nil, nil, err
		}
	}
	st = &State{Dir: dir}
	var bad []error
	keyPath := filepath.Join(dir, FileInstallKey)
	st.InstallKey, err = channel.ReadPrivateKeyFile(keyPath)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		if st.InstallKey, err = newInstallKey(keyPath); err != nil {
			return nil, nil, err
		}
	case errors.Is(err, channel.ErrKeyFile):
		if id, product, ok := savedLicense(dir); ok {
			// A new key would be a new installation to the gateway: the
			// seat the old one holds could not be freed from here.
			return nil, nil, fmt.Errorf("%w: %s in %s cannot be read, and license %s (product %s) is activated with it. "+
				"Restore %s from a backup of that folder; or ask the vendor to free this machine's seat of that license, "+
				"then move the folder away and activate again", ErrInstallKeyDamaged, FileInstallKey, dir, id, product, FileInstallKey)
		}
		bad = append(bad, fmt.Errorf("%w: the install key file was damaged and has been replaced", ErrState))
		if err := os.Rename(keyPath, keyPath+".damaged"); err != nil {
			return nil, nil, fmt.Errorf("clients: install key: %w", err)
		}
		if st.InstallKey, err = newInstallKey(keyPath); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, fmt.Errorf("clients: install key: %w", err)
	}
	if b, ok := readState(dir, FileLicense); ok {
		f := strings.Fields(string(b))
		var id []byte
		herr := errors.New("fields")
		if len(f) == 2 && strings.HasSuffix(string(b), "\n") {
			id, herr = hex.DecodeString(f[0])
		}
		if herr != nil || len(id) != wire.LicenseIDSize || !productCode(f[1]) {
			bad = append(bad, fmt.Errorf("%w: the license file is damaged", ErrState))
		} else {
			copy(st.LicenseID[:], id)
			st.HasLicense, st.Product = true, f[1]
		}
	}
	if b, ok := readState(dir, FileLease); ok {
		raw, derr := wire.DearmorLease(b)
		if derr != nil {
			bad = append(bad, fmt.Errorf("%w: the lease file is damaged: %w", ErrState, derr))
		} else {
			st.Lease = raw
		}
	}
	if counter, last, ok, derr := readChecks(dir); derr != nil {
		bad = append(bad, derr)
	} else if ok {
		st.Counter, st.LastContact = counter, last
	}
	if b, ok := readState(dir, FileClock); ok {
		t, perr := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if perr != nil || t < 0 || !strings.HasSuffix(string(b), "\n") {
			bad = append(bad, fmt.Errorf("%w: the clock file is damaged", ErrState))
		} else {
			st.Trusted = t
		}
	}
	if stmts, derr := readLeaseKeys(dir); derr != nil {
		bad = append(bad, derr)
	} else {
		st.KeyStatements = stmts
	}
	return st, errors.Join(bad...), nil
}

// readChecks reads the checks file: the last counter sent and the last
// contact. ok is false when there is none; a damaged one is an error
// wrapping ErrState.
func readChecks(dir string) (counter uint64, last int64, ok bool, err error) {
	b, ok := readState(dir, FileChecks)
	if !ok {
		return 0, 0, false, nil
	}
	// Files end with a newline, so a truncated one is told from a short
	// number.
	f := strings.Fields(string(b))
	var e1, e2 error
	if len(f) == 2 && strings.HasSuffix(string(b), "\n") {
		counter, e1 = strconv.ParseUint(f[0], 10, 64)
		last, e2 = strconv.ParseInt(f[1], 10, 64)
	}
	if len(f) != 2 || e1 != nil || e2 != nil || last < 0 {
		return 0, 0, false, fmt.Errorf("%w: the checks file is damaged", ErrState)
	}
	return counter, last, true, nil
}

// NextCounter reserves the counter of the next validation: one more than
// the highest this process or the checks file knows, written to the
// checks file before the validation is sent, under a lock on the state
// directory. So a crash after sending never sends the same counter again,
// and two programs sharing the directory never send the same one. On error
// the counter is still reserved in memory.
func (st *State) NextCounter() (uint64, error) {
	var werr error
	err := st.withChecks(func() {
		st.Counter++
		werr = st.writeChecks()
	})
	if err != nil {
		st.Counter++
	}
	return st.Counter, errors.Join(err, werr)
}

// withChecks runs fn with the state directory locked, after raising the
// counter and last contact to what the checks file holds (another program
// may have moved them).
func (st *State) withChecks(fn func()) error {
	unlock, err := st.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if c, last, ok, _ := readChecks(st.Dir); ok {
		st.Counter, st.LastContact = max(st.Counter, c), max(st.LastContact, last)
	}
	fn()
	return nil
}

// lock locks the state directory's lock file until the returned function
// is called.
func (st *State) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(st.Dir, FileLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("clients: state lock: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("clients: state lock: %w", err)
	}
	return func() { f.Close() }, nil
}

func (st *State) writeChecks() error {
	if err := atomicfile.Write(filepath.Join(st.Dir, FileChecks), fmt.Appendf(nil, "%d %d\n", st.Counter, st.LastContact), 0o600); err != nil {
		return fmt.Errorf("clients: save %s: %w", FileChecks, err)
	}
	return nil
}

// readState reads a small state file; a missing or unreadable one reads
// as absent.
func readState(dir, name string) ([]byte, bool) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	return b, err == nil
}

func newInstallKey(path string) (channel.PrivateKey, error) {
	k, err := channel.GenerateKey(nil)
	if err != nil {
		return channel.PrivateKey{}, err
	}
	if err := channel.WritePrivateKeyFile(path, k); err != nil {
		return channel.PrivateKey{}, err
	}
	return k, nil
}

// Save writes the license id, lease, checks and clock atomically, each
// with mode 0600. Without a license it removes the license and lease files
// (the clock ratchet stays: forgetting it would undo it).
func (st *State) Save() error {
	write := func(name string, data []byte) error {
		if err := atomicfile.Write(filepath.Join(st.Dir, name), data, 0o600); err != nil {
			return fmt.Errorf("clients: save %s: %w", name, err)
		}
		return nil
	}
	remove := func(name string) error {
		if err := os.Remove(filepath.Join(st.Dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("clients: %w", err)
		}
		return nil
	}
	var err error
	if st.HasLicense {
		err = write(FileLicense, []byte(hex.EncodeToString(st.LicenseID[:])+" "+st.Product+"\n"))
	} else {
		err = remove(FileLicense)
	}
	if err == nil && st.HasLicense && st.Lease != nil {
		err = write(FileLease, wire.ArmorLease(st.Lease))
	} else if err == nil {
		err = remove(FileLease)
	}
	if err == nil {
		// Never lower what another program using the directory wrote.
		var werr error
		if err = st.withChecks(func() { werr = st.writeChecks() }); err == nil {
			err = werr
		}
	}
	if err == nil {
		err = write(FileClock, fmt.Appendf(nil, "%d\n", st.Trusted))
	}
	if err == nil && len(st.KeyStatements) > 0 {
		err = write(FileLeaseKeys, marshalLeaseKeys(st.KeyStatements))
	} else if err == nil {
		err = remove(FileLeaseKeys) // a damaged one, reported when loaded
	}
	return err
}

// productCode reports whether s looks like a product code: ProductSize
// characters of 0-9A-Z.
func productCode(s string) bool {
	if len(s) != wire.ProductSize {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// SavedProduct returns the product code of the license saved in dir, or ""
// when there is none. It lets a tool open a state directory without being
// told the product.
func SavedProduct(dir string) string {
	_, p, _ := savedLicense(dir)
	return p
}

// savedLicense reads the license file in dir: the license id (hex) and
// the product code; ok is false when there is none or it is damaged.
func savedLicense(dir string) (id, product string, ok bool) {
	b, _ := readState(dir, FileLicense)
	f := strings.Fields(string(b))
	if len(f) != 2 || !productCode(f[1]) {
		return "", "", false
	}
	if raw, err := hex.DecodeString(f[0]); err != nil || len(raw) != wire.LicenseIDSize {
		return "", "", false
	}
	return f[0], f[1], true
}
