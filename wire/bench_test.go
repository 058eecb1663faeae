package wire

import "testing"

func BenchmarkParseHeader(b *testing.B) {
	frame := AppendFrame(nil, 7, testValidateRequest)
	b.ReportAllocs()
	b.SetBytes(HeaderSize)
	for b.Loop() {
		if _, _, err := ParseHeader(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseValidateRequest(b *testing.B) {
	body := testValidateRequest.Append(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := ParseValidateRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendValidateResponse(b *testing.B) {
	m := testValidateResponse
	m.Lease = make([]byte, 3000) // about the size of a signed lease
	buf := make([]byte, 0, HeaderSize+m.Len())
	b.ReportAllocs()
	b.SetBytes(int64(HeaderSize + m.Len()))
	for b.Loop() {
		buf = AppendFrame(buf[:0], 7, m)
	}
}

func BenchmarkParseActivateRequest(b *testing.B) {
	body := testActivateRequest.Append(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := ParseActivateRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMintRequest(b *testing.B) {
	body := testMintRequest(b).Append(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := ParseMintRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMintResponse10000(b *testing.B) {
	body := MintResponse{Nonce: testNonce, OrderID: []byte("A-1001"), Count: MaxMintCount, Sealed: fakeSealed(MaxMintCount)}.Append(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := ParseMintResponse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendMintResponse10000(b *testing.B) {
	m := MintResponse{Nonce: testNonce, OrderID: []byte("A-1001"), Count: MaxMintCount, Sealed: fakeSealed(MaxMintCount)}
	buf := make([]byte, 0, HeaderSize+m.Len())
	b.ReportAllocs()
	b.SetBytes(int64(HeaderSize + m.Len()))
	for b.Loop() {
		buf = AppendFrame(buf[:0], 7, m)
	}
}
