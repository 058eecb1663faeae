package gateway

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/wire"
)

func TestStatusOf(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		frame []byte
		want  wire.Status
	}{
		{wire.AppendFrame(nil, 1, wire.ErrorResponse{Status: wire.StatusNoSeats}), wire.StatusNoSeats},
		{wire.AppendFrame(nil, 1, wire.ValidateResponse{Status: wire.StatusExpired}), wire.StatusExpired},
		{wire.AppendFrame(nil, 1, wire.ValidateResponse{}), wire.StatusOK},
		{wire.AppendFrame(nil, 1, wire.TimeResponse{}), wire.StatusOK},
		{nil, wire.StatusOK},
	} {
		if got := statusOf(c.frame); got != c.want {
			t.Errorf("statusOf(%x) = %v, want %v", c.frame, got, c.want)
		}
	}
}

// TestValidTally: OK validations reach the shared counter when the second
// changes or the session flushes; others at once; a status past the table
// is counted with its last entry.
func TestValidTally(t *testing.T) {
	t.Parallel()
	s := newStats(time.Unix(0, 0))
	ok := wire.AppendFrame(nil, 1, wire.ValidateResponse{})
	var v validTally
	v.count(s, ok, 100)
	v.count(s, ok, 100)
	v.count(s, ok, 100)
	if n := s.answers[kindValidate][wire.StatusOK].Load(); n != 1 {
		t.Fatalf("after three in one second: %d counted, want 1 (the first flushes)", n)
	}
	v.count(s, wire.AppendFrame(nil, 1, wire.ErrorResponse{Status: wire.StatusNotActivated}), 100)
	if n := s.answers[kindValidate][wire.StatusNotActivated].Load(); n != 1 {
		t.Fatalf("a refusal counted %d times", n)
	}
	v.count(s, ok, 101)
	if n := s.answers[kindValidate][wire.StatusOK].Load(); n != 4 {
		t.Fatalf("after the second changed: %d, want 4", n)
	}
	v.count(s, ok, 101)
	v.flush(s, 0)
	if n := s.answers[kindValidate][wire.StatusOK].Load(); n != 5 {
		t.Fatalf("after the flush: %d, want 5", n)
	}
	s.answered(kindMint, wire.AppendFrame(nil, 1, wire.ErrorResponse{Status: 999}))
	if n := s.answers[kindMint][numStatuses-1].Load(); n != 1 {
		t.Fatalf("status 999: %d in the last entry", n)
	}
}
