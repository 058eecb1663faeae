package bench

import (
	"testing"

	"github.com/tollgate/tollgate/wire"
)

// answerTo builds the gateway's answer to a validation frame.
func answerTo(t testing.TB, frame []byte, mutate func(*wire.ValidateResponse)) (wire.Type, []byte) {
	t.Helper()
	hdr, n, err := wire.ParseHeader(frame)
	if err != nil {
		t.Fatal(err)
	}
	req, _, err := wire.ParseValidateRequest(frame[n:])
	if err != nil {
		t.Fatal(err)
	}
	resp := wire.ValidateResponse{Nonce: req.Nonce, Status: wire.StatusOK, Counter: req.Counter}
	if mutate != nil {
		mutate(&resp)
	}
	ans := wire.AppendFrame(nil, hdr.RequestID, resp)
	return wire.Type(ans[1]), ans[wire.HeaderSize:]
}

func TestValidateExchangeJudges(t *testing.T) {
	fp := randomFingerprint(newRand())
	ex := newValidateEx([][wire.LicenseIDSize]byte{{1}, {2}}, fp)
	cases := []struct {
		name   string
		mutate func(*wire.ValidateResponse)
		want   string
	}{
		{"ok", nil, ""},
		{"another request's nonce", func(r *wire.ValidateResponse) { r.Nonce[9] ^= 1 }, errBadNonce},
		{"refused", func(r *wire.ValidateResponse) { r.Status = wire.StatusSuspended }, "SUSPENDED"},
	}
	for i, c := range cases {
		id := uint32(i+1)<<slotBits | 3
		frame, _, kind := ex.request(nil, id)
		if kind != reqFrame {
			t.Fatalf("%s: kind %v", c.name, kind)
		}
		typ, body := answerTo(t, frame, c.mutate)
		if _, got := ex.answer(id, 0, typ, body); got != c.want {
			t.Errorf("%s: judged %q, want %q", c.name, got, c.want)
		}
	}
	// An error answer is judged by its status; another type is no answer.
	er := wire.AppendFrame(nil, 1, wire.ErrorResponse{Status: wire.StatusNotActivated, Message: []byte("no")})
	if _, got := ex.answer(1, 0, wire.TypeErrorResponse, er[wire.HeaderSize:]); got != "NOT_ACTIVATED" {
		t.Errorf("error answer judged %q", got)
	}
	if _, got := ex.answer(1, 0, wire.TypeActivateResponse, nil); got != errBadAnswer {
		t.Errorf("wrong type judged %q", got)
	}
	// The licenses are validated in turn.
	a, _, _ := ex.request(nil, 9)
	b, _, _ := ex.request(nil, 10)
	ra, _, _ := wire.ParseValidateRequest(a[wire.HeaderSize:])
	rb, _, _ := wire.ParseValidateRequest(b[wire.HeaderSize:])
	if ra.LicenseID == rb.LicenseID || ra.Counter >= rb.Counter {
		t.Errorf("two requests in a row: licenses %x %x, counters %d %d", ra.LicenseID[:1], rb.LicenseID[:1], ra.Counter, rb.Counter)
	}
}

func TestRecordSize(t *testing.T) {
	for _, c := range []struct{ frame, want int }{
		{79, 97},                        // a validation: one message
		{maxChunk, maxChunk + recordOH}, // exactly one full message
		{maxChunk + 1, maxChunk + 1 + 2*recordOH},
		{300137, 300137 + 5*recordOH}, // a mint answer of 10,000 keys
	} {
		if got := recordSize(c.frame); got != c.want {
			t.Errorf("recordSize(%d) = %d, want %d", c.frame, got, c.want)
		}
	}
}

// BenchmarkValidateExchange is the load generator's own work per
// validation, the network and Noise aside: build the request, judge the
// answer. It must stay small next to the gateway's, and allocate nothing.
func BenchmarkValidateExchange(b *testing.B) {
	fp := randomFingerprint(newRand())
	ex := newValidateEx(make([][wire.LicenseIDSize]byte, 64), fp)
	frame, _, _ := ex.request(nil, 5)
	typ, body := answerTo(b, frame, nil)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		buf, _, _ = ex.request(buf[:0], 5)
		if _, s := ex.answer(5, 0, typ, body); s != "" {
			b.Fatal(s)
		}
	}
}
