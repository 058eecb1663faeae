package bridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/internal/atomicfile"
)

// State is the webhook deliverer's directory (tollgate-shop serve --state):
// the file cursor, the sequence number of the last event delivered to
// every webhook or given up, and failed.json, the events given up (the
// last MaxFailed of them). Both are private (0600) and replaced
// atomically, so a crash leaves the old content or the new.
type State struct {
	dir string
	mu  sync.Mutex
}

// MaxFailed bounds the events failed.json keeps: the oldest are dropped.
const MaxFailed = 10000

// FailedEvent is an event not delivered to every webhook in time.
type FailedEvent struct {
	Event    EventJSON       `json:"event"`
	GaveUp   time.Time       `json:"gave_up"`
	Webhooks []FailedWebhook `json:"webhooks"`
}

// FailedWebhook is one webhook that did not take the event: its URL
// without query or credentials, the attempts made and the last outcome.
type FailedWebhook struct {
	URL      string `json:"url"`
	Attempts int    `json:"attempts"`
	Last     string `json:"last"`
}

// OpenState opens the state directory dir, creating it (0700) if needed.
func OpenState(dir string) (*State, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bridge: state directory: %w", err)
	}
	return &State{dir: dir}, nil
}

// Cursor returns the last event delivered everywhere, 0 when none.
func (s *State) Cursor() (uint64, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "cursor"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("bridge: reading the cursor: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bridge: the cursor file %s is damaged: %w", filepath.Join(s.dir, "cursor"), err)
	}
	return n, nil
}

// SetCursor records seq as delivered everywhere.
func (s *State) SetCursor(seq uint64) error {
	if err := atomicfile.Write(filepath.Join(s.dir, "cursor"), []byte(strconv.FormatUint(seq, 10)+"\n"), 0o600); err != nil {
		return fmt.Errorf("bridge: writing the cursor: %w", err)
	}
	return nil
}

// Failed returns the events given up, oldest first.
func (s *State) Failed() ([]FailedEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed()
}

func (s *State) failed() ([]FailedEvent, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "failed.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bridge: reading failed events: %w", err)
	}
	var evs []FailedEvent
	if err := json.Unmarshal(b, &evs); err != nil {
		return nil, fmt.Errorf("bridge: %s is damaged: %w", filepath.Join(s.dir, "failed.json"), err)
	}
	return evs, nil
}

// addFailed appends f to the failed events.
func (s *State) addFailed(f FailedEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	evs, err := s.failed()
	if err != nil {
		return err
	}
	evs = append(evs, f)
	if len(evs) > MaxFailed {
		evs = evs[len(evs)-MaxFailed:]
	}
	b, err := json.MarshalIndent(evs, "", "  ")
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(s.dir, "failed.json"), b, 0o600); err != nil {
		return fmt.Errorf("bridge: writing failed events: %w", err)
	}
	return nil
}
