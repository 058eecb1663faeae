package wire

import "testing"

func TestDeactivateRequest(t *testing.T) {
	testCodec(t, ParseDeactivateRequest, DeactivateRequest{Nonce: testNonce, LicenseID: testLicenseID}, `
		000102030405060708090a0b0c0d0e0f  # nonce
		a0a1a2a3a4a5a6a7a8a9aaabacadaeaf  # license id
	`)
}

func TestDeactivateResponse(t *testing.T) {
	testCodec(t, ParseDeactivateResponse, DeactivateResponse{Nonce: testNonce}, `
		000102030405060708090a0b0c0d0e0f  # nonce
	`)
}
