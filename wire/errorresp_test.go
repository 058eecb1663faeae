package wire

import (
	"errors"
	"testing"
)

var testErrorResponse = ErrorResponse{
	Nonce:   testNonce,
	Status:  StatusNoSeats,
	Message: []byte("all seats taken"),
}

func TestErrorResponse(t *testing.T) {
	testCodec(t, ParseErrorResponse, testErrorResponse, `
		000102030405060708090a0b0c0d0e0f  # nonce
		0006                              # status NO_SEATS
		0f 616c6c2073656174732074616b656e # message "all seats taken"
	`)
}

func TestErrorResponseBounds(t *testing.T) {
	testBounds(t, ParseErrorResponse, testErrorResponse, []bound[ErrorResponse]{
		{"no message", func(m *ErrorResponse) { m.Message = nil }, nil},
		{"message 255 bytes", func(m *ErrorResponse) { m.Message = repeat('m', MaxErrorMessageLen) }, nil},
		{"message UTF-8", func(m *ErrorResponse) { m.Message = []byte("keine Plätze frei – 席がありません") }, nil},
		{"message newline", func(m *ErrorResponse) { m.Message = []byte("a\nb") }, ErrInvalidField},
		{"message bad UTF-8", func(m *ErrorResponse) { m.Message = []byte("a\xffb") }, ErrInvalidField},
		{"status OK", func(m *ErrorResponse) { m.Status = StatusOK }, ErrInvalidField},
		{"status unknown", func(m *ErrorResponse) { m.Status = 0x1234 }, nil},
	})
}

func TestErrorResponseErr(t *testing.T) {
	err := testErrorResponse.Err()
	if err.Status != StatusNoSeats || err.Message != "all seats taken" {
		t.Fatalf("Err() = %+v", err)
	}
	if got, want := err.Error(), "tollgate: NO_SEATS: all seats taken"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	var wrapped error = err
	if StatusOf(wrapped) != StatusNoSeats || err.Retryable() {
		t.Fatalf("StatusOf or Retryable wrong for %v", err)
	}
	var se *StatusError
	if !errors.As(wrapped, &se) {
		t.Fatalf("errors.As fails on Err()")
	}
	limited := ErrorResponse{Status: StatusRateLimited}.Err()
	if !limited.Retryable() || limited.Error() != "tollgate: RATE_LIMITED" {
		t.Fatalf("rate-limited error: %q, retryable %v", limited.Error(), limited.Retryable())
	}
}
