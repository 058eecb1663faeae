package gateway

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/atomicfile"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/pebblestore"
	"github.com/tollgate/tollgate/store/pgstore"
)

// The layout of a gateway's data directory: this file is the one place
// that knows it. Private files are mode 0600, private directories 0700.
const (
	FileNoiseKey  = "noise.key"      // Noise static private key (0600)
	FileTLSCert   = "tls.crt"        // self-signed certificate for QUIC
	FileTLSKey    = "tls.key"        // its private key (0600)
	FileLeaseKey  = "lease.key"      // composite lease-signing private key (0600)
	FileKeySecret = "keyhash.secret" // secret of the keyed key hashes (0600)
	FileCard      = "server.card"    // the server card apps embed (public)
	// FileTransportKeys holds the next and previous Noise and TLS keys
	// during a rotation of them (transportkeys.go), 0600; absent otherwise.
	FileTransportKeys = "transport.keys"
	DirDB             = "db"         // the embedded store (Pebble)
	DirRun            = "run"        // private directory of the admin socket (0700)
	FileAdminSocket   = "admin.sock" // the admin socket in DirRun (0600)
	// FileStore names the shared store (PostgreSQL) of a gateway that does
	// not keep its state in DirDB: one line, the connection string, mode
	// 0600 (it may hold a password). Absent: the embedded store.
	FileStore = "store"
)

// EnvStore is the environment variable that names the shared store's
// connection string, over FileStore.
const EnvStore = "TOLLGATE_STORE"

// IdentityFiles are the files of a gateway's identity, which a backup
// holds beside its store: private keys and secrets among them.
var IdentityFiles = []string{FileNoiseKey, FileTLSCert, FileTLSKey, FileLeaseKey, FileKeySecret, FileCard}

// OptionalIdentityFiles are identity files a data directory holds only at
// times (FileTransportKeys, during a rotation of the transport keys): a
// backup carries them when they are there.
var OptionalIdentityFiles = []string{FileTransportKeys}

// FileMode returns the mode of the data directory's file name: 0644 for
// the public ones (the server card, the TLS certificate), 0600 for every
// other (private keys, secrets, the store's files).
func FileMode(name string) fs.FileMode {
	if name == FileCard || name == FileTLSCert {
		return 0o644
	}
	return 0o600
}

// StorePath returns the directory of the embedded store of the gateway
// whose data directory is dir.
func StorePath(dir string) string { return filepath.Join(dir, DirDB) }

// AdminSocketPath returns the admin socket of the gateway whose data
// directory is dir.
func AdminSocketPath(dir string) string { return filepath.Join(dir, DirRun, FileAdminSocket) }

// StoreOptions tunes the store OpenStore opens. The zero value is the
// defaults.
type StoreOptions struct {
	CacheEntries int64            // activations the hot cache holds; zero: 1<<20
	Now          func() time.Time // nil: time.Now
	Logger       *slog.Logger     // nil: slog.Default()
	// URL is the shared store's connection string (Config.Store); empty:
	// the data directory's (StoreURL).
	URL string
	// Timeout bounds one operation on a shared store (Config.StoreTimeout);
	// zero: pgstore.DefaultTimeout.
	Timeout time.Duration
	// Migrate creates or upgrades a shared store's schema, as a starting
	// gateway does; without it an older schema is refused, saying to run
	// `tollgate migrate`.
	Migrate bool
}

// StoreURL returns the connection string of the shared store the gateway
// of dir uses, or "" for the embedded one (DirDB): the environment's
// TOLLGATE_STORE when set, else the data directory's FileStore. The string
// may hold a password: never print it (DescribeStore).
func StoreURL(dir string) (string, error) {
	if u := os.Getenv(EnvStore); u != "" {
		return u, checkStoreURL(u)
	}
	b, err := os.ReadFile(filepath.Join(dir, FileStore))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("gateway: %w", err)
	}
	u := strings.TrimSpace(string(b))
	return u, checkStoreURL(u)
}

// checkStoreURL refuses a connection string that is not PostgreSQL's, in
// words that do not repeat it.
func checkStoreURL(u string) error {
	if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return fmt.Errorf("%w: the store's connection string is not a postgres:// URL (as in postgres://USER:PASSWORD@HOST:5432/DATABASE)", ErrConfig)
	}
	return nil
}

// OpenStore opens the store of the gateway whose data directory is dir:
// the shared store (o.URL, else StoreURL) when there is one, else the
// embedded Pebble store in DirDB, which only one process may hold open
// (store.ErrLocked).
func OpenStore(dir string, o StoreOptions) (*store.Store, error) {
	b, err := openBackend(dir, o)
	if err != nil {
		return nil, err
	}
	st, err := store.New(b, store.Options{CacheEntries: o.CacheEntries, Now: o.Now, Logger: o.Logger})
	if err != nil {
		b.Close()
		return nil, err
	}
	return st, nil
}

func openBackend(dir string, o StoreOptions) (store.Backend, error) {
	u := o.URL
	if u == "" {
		var err error
		if u, err = StoreURL(dir); err != nil {
			return nil, err
		}
	} else if err := checkStoreURL(u); err != nil {
		return nil, err
	}
	if u == "" {
		return pebblestore.Open(pebblestore.Config{Dir: StorePath(dir), Now: o.Now, Logger: o.Logger})
	}
	return pgstore.Open(pgstore.Config{URL: u, Now: o.Now, Logger: o.Logger, Migrate: o.Migrate, Timeout: o.Timeout})
}

// WriteStoreURL records in the data directory dir that its gateway uses
// the shared store u (FileStore, mode 0600).
func WriteStoreURL(dir, u string) error {
	if err := checkStoreURL(u); err != nil {
		return err
	}
	return atomicfile.Create(filepath.Join(dir, FileStore), []byte(u+"\n"), 0o600)
}
