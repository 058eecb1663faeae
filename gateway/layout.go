package gateway

import (
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/pebblestore"
)

// The layout of a gateway's data directory: this file is the one place
// that knows it. Private files are mode 0600, private directories 0700.
const (
	FileNoiseKey    = "noise.key"      // Noise static private key (0600)
	FileTLSCert     = "tls.crt"        // self-signed certificate for QUIC
	FileTLSKey      = "tls.key"        // its private key (0600)
	FileLeaseKey    = "lease.key"      // composite lease-signing private key (0600)
	FileKeySecret   = "keyhash.secret" // secret of the keyed key hashes (0600)
	FileCard        = "server.card"    // the server card apps embed (public)
	DirDB           = "db"             // the embedded store (Pebble)
	DirRun          = "run"            // private directory of the admin socket (0700)
	FileAdminSocket = "admin.sock"     // the admin socket in DirRun (0600)
)

// IdentityFiles are the files of a gateway's identity, which a backup
// holds beside its store: private keys and secrets among them.
var IdentityFiles = []string{FileNoiseKey, FileTLSCert, FileTLSKey, FileLeaseKey, FileKeySecret, FileCard}

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
}

// OpenStore opens the store of the gateway whose data directory is dir.
// Only one process may hold it open (store.ErrLocked).
func OpenStore(dir string, o StoreOptions) (*store.Store, error) {
	b, err := pebblestore.Open(pebblestore.Config{Dir: StorePath(dir), Now: o.Now, Logger: o.Logger})
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
