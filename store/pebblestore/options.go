package pebblestore

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// pebbleOptions tunes Pebble for what the store holds (profiled with
// tollgate-bench, see BENCHMARKS.md): records are mostly random bytes and
// hashes, so compression costs CPU and saves nothing; a 10,000-key mint is
// a few megabytes, so memtables of 32 MB flush once per several orders
// instead of once per order; point lookups by key hash go through bloom
// filters and a 64 MB block cache (filled as used, not allocated up front);
// keys are random, so every compaction from L0 rewrites the part of the
// base level it overlaps: L0 is compacted at 8 sublevels rather than 4 and
// the base level holds 256 MB rather than 64 MB, so a burst of mints is
// rewritten less often (126k against 135k keys/s in back-to-back runs).
// Blocks are 16 KB rather than 4 KB: flushes and compactions read and
// write a block per system call, a third of their time with 4 KB blocks
// (BenchmarkMintOrder -benchtime 400x, back to back on a loaded machine:
// 52 ms of CPU per order against 70 with 4 KB blocks); a lookup of a key
// whose block is not cached reads 16 KB from the page cache instead of 4.
func pebbleOptions(cfg Config) *pebble.Options {
	opts := &pebble.Options{
		FS:                    newPrivateFS(), // files 0600, directories 0700 (perm.go)
		Logger:                quietLogger{cfg.Logger},
		MemTableSize:          32 << 20,
		CacheSize:             64 << 20,
		L0CompactionThreshold: 8,
		LBaseMaxBytes:         256 << 20,
	}
	opts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		opts.Levels[i].BlockSize = 16 << 10
	}
	return opts
}

// quietLogger routes Pebble's informational chatter to debug level.
type quietLogger struct{ l *slog.Logger }

func (q quietLogger) Infof(format string, args ...interface{}) {
	q.l.Debug("pebble: " + fmt.Sprintf(format, args...))
}
func (q quietLogger) Errorf(format string, args ...interface{}) {
	q.l.Error("pebble: " + fmt.Sprintf(format, args...))
}
func (q quietLogger) Fatalf(format string, args ...interface{}) {
	q.l.Error("pebble: fatal: " + fmt.Sprintf(format, args...))
	os.Exit(1)
}
