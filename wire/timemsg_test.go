package wire

import "testing"

func TestTimeRequest(t *testing.T) {
	testCodec(t, ParseTimeRequest, TimeRequest{Nonce: testNonce}, `
		000102030405060708090a0b0c0d0e0f  # nonce
	`)
}

var testTimeResponse = TimeResponse{Nonce: testNonce, ServerTime: 1700000000123456789}

func TestTimeResponse(t *testing.T) {
	testCodec(t, ParseTimeResponse, testTimeResponse, `
		000102030405060708090a0b0c0d0e0f  # nonce
		17979cfe3d85cd15                  # server time 1700000000.123456789 s, in ns
	`)
}

func TestTimeResponseBounds(t *testing.T) {
	testBounds(t, ParseTimeResponse, testTimeResponse, []bound[TimeResponse]{
		{"zero", func(m *TimeResponse) { m.ServerTime = 0 }, nil},
		{"max", func(m *TimeResponse) { m.ServerTime = 1<<63 - 1 }, nil},
		{"negative", func(m *TimeResponse) { m.ServerTime = -1 }, ErrInvalidField},
	})
}
