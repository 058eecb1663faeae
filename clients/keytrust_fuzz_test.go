package clients

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadLeaseKeys: whatever the lease-keys file holds, readLeaseKeys
// returns parseable statements or a damage report (ErrState), and what it
// returns is written back byte for byte.
func FuzzReadLeaseKeys(f *testing.F) {
	a, b := trustKey(f, "a"), trustKey(f, "b")
	good := marshalLeaseKeys([][]byte{statement(f, a, b, 0)})
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte(leaseKeysHeader + "\n"))
	f.Add([]byte(leaseKeysHeader + "\nVEdLUw==\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileLeaseKeys), in, 0o600); err != nil {
			t.Fatal(err)
		}
		stmts, err := readLeaseKeys(dir)
		if err != nil {
			if stmts != nil {
				t.Fatal("statements returned with an error")
			}
			return
		}
		if len(stmts) > 0 && !bytes.Equal(marshalLeaseKeys(stmts), in) {
			t.Fatal("a file read without damage does not encode back to itself")
		}
	})
}
