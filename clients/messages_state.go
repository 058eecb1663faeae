package clients

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tollgate/tollgate/i18n"
	"github.com/tollgate/tollgate/internal/atomicfile"
	"github.com/tollgate/tollgate/wire"
)

// FileMessages, in the state directory, keeps the product's message
// overrides (wire.ParseLeaseMessages's encoding) from the last lease that
// verified, so that the publisher's texts are shown even once that lease
// is gone (a revoked license's lease is dropped) or after a restart.
const FileMessages = "messages"

// productMessages are the overrides in use and the bytes they came from.
type productMessages struct {
	raw []byte
	o   i18n.Overrides
}

// set parses raw (strictly) and keeps it; it reports whether raw parsed.
func (m *productMessages) set(raw []byte) bool {
	ms, err := wire.ParseLeaseMessages(raw)
	if err != nil {
		return false
	}
	o := i18n.Overrides{}
	for _, e := range ms {
		if o[e.Lang] == nil {
			o[e.Lang] = map[string]string{}
		}
		o[e.Lang][e.ID] = e.Text
	}
	m.raw, m.o = bytes.Clone(raw), o
	return true
}

// loadMessages reads the saved overrides of the state in dir; a file
// missing or damaged is none.
func loadMessages(dir string) productMessages {
	var m productMessages
	if b, err := os.ReadFile(filepath.Join(dir, FileMessages)); err == nil {
		m.set(b)
	}
	return m
}

// refreshMessages takes the overrides of the saved lease when it
// verifies and they differ from those in use, and saves them: a lease
// without any clears them. A lease that does not verify changes nothing.
// Called with l.mu held.
func (l *Licensee) refreshMessages() {
	lease, err := l.lease()
	if err != nil || bytes.Equal(lease.Messages, l.msgs.raw) {
		return
	}
	if !l.msgs.set(lease.Messages) {
		return // signed by the gateway but not parsed: keep the old ones
	}
	path := filepath.Join(l.st.Dir, FileMessages)
	if len(l.msgs.raw) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			l.msgs.raw = nil // try again next time
		}
		return
	}
	if err := atomicfile.Write(path, l.msgs.raw, 0o600); err != nil {
		l.msgs.raw = nil // in use now, saved next time
	}
}
