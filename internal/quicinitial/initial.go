// Package quicinitial builds QUIC version 1 Initial packets that open a
// handshake and never finish it: what a flood of spoofed connection
// attempts sends. The gateway's tests and the benchmark's flood scenario
// use it to attack a gateway on loopback; it must never be pointed
// anywhere else, and it never reads an answer.
//
// Each packet is a client's first flight as RFC 9001 §5 protects it: keys
// derived from its Destination Connection ID with the version 1 salt,
// AES-128-GCM payload protection and AES header protection, carrying one
// CRYPTO frame with a real TLS 1.3 ClientHello (made once by crypto/tls's
// QUIC API, ALPN "tollgate/1") and padded to 1200 bytes. A server that
// accepts one makes a connection, answers with its first flight and waits
// for a client that never comes.
package quicinitial

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Wire-format constants (RFC 9000 §17.2.2, RFC 9001 §5.2).
const (
	// Version is QUIC version 1.
	Version = 0x00000001
	// Size is the datagram size of every packet: the least a client's
	// Initial may be (RFC 9000 §14.1).
	Size = 1200
	// ConnIDLen is the length of the connection ids the packets carry,
	// the least a server accepts in a client's first Initial.
	ConnIDLen = 8

	pnLen       = 4    // packet number length used (bits 0-1 of the first byte: 3)
	firstByte   = 0xc3 // long header, fixed bit, type Initial (0), 4-byte packet number
	frameCrypto = 0x06
	tagLen      = 16
	sampleLen   = 16
)

// salt is the version 1 Initial salt (RFC 9001 §5.2).
var salt = []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}

// Builder makes Initial packets that all carry the same ClientHello and
// Source Connection ID, each with the Destination Connection ID it is
// given. It is safe for concurrent use.
type Builder struct {
	scid  [ConnIDLen]byte
	hello []byte // the CRYPTO frame's data: a TLS ClientHello
}

// NewBuilder makes a ClientHello for alpn with crypto/tls's QUIC client,
// with the transport parameters a server needs to go on (its
// initial_source_connection_id is scid). rand is the randomness of the
// TLS client (its random and key share); nil means crypto/rand.
func NewBuilder(alpn string, scid [ConnIDLen]byte, rand io.Reader) (*Builder, error) {
	conf := &tls.Config{
		MinVersion: tls.VersionTLS13, NextProtos: []string{alpn}, ServerName: "tollgate",
		// The gateway accepts only the hybrid post-quantum group, whose
		// key share alone is over a kilobyte: the ClientHello takes two
		// packets, and the flood sends the first (NewBuilder).
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768}, Rand: rand,
		InsecureSkipVerify: true, // the handshake never gets as far as a certificate
	}
	qc := tls.QUICClient(&tls.QUICConfig{TLSConfig: conf})
	qc.SetTransportParameters(transportParameters(scid))
	if err := qc.Start(context.Background()); err != nil {
		return nil, fmt.Errorf("quicinitial: starting TLS: %w", err)
	}
	defer qc.Close()
	var hello []byte
	for {
		ev := qc.NextEvent()
		if ev.Kind == tls.QUICNoEvent {
			break
		}
		if ev.Kind == tls.QUICWriteData && ev.Level == tls.QUICEncryptionLevelInitial {
			hello = append(hello, ev.Data...)
		}
	}
	if len(hello) == 0 {
		return nil, errors.New("quicinitial: crypto/tls wrote no ClientHello")
	}
	// A ClientHello longer than one packet is cut to what fits: the
	// first packet of two, which makes the server create a connection and
	// wait for the rest, as a client that never sends the second does.
	b := &Builder{scid: scid, hello: hello}
	for b.payloadLen() > Size-b.headerLen()-tagLen {
		b.hello = b.hello[:len(b.hello)-1]
	}
	return b, nil
}

// transportParameters encodes the client's QUIC transport parameters (RFC
// 9000 §18.2): initial_source_connection_id, and enough stream and flow
// credit to look like a real client.
func transportParameters(scid [ConnIDLen]byte) []byte {
	var b []byte
	param := func(id uint64, v []byte) {
		b = appendVarint(b, id)
		b = appendVarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	varParam := func(id, v uint64) { param(id, appendVarint(nil, v)) }
	varParam(0x01, 30_000) // max_idle_timeout, ms
	varParam(0x04, 1<<20)  // initial_max_data
	varParam(0x05, 1<<18)  // initial_max_stream_data_bidi_local
	varParam(0x06, 1<<18)  // initial_max_stream_data_bidi_remote
	varParam(0x08, 16)     // initial_max_streams_bidi
	param(0x0f, scid[:])   // initial_source_connection_id
	return b
}

// headerLen is the length of the packet's header, packet number included.
func (b *Builder) headerLen() int {
	// first byte, version, dcid len+dcid, scid len+scid, token length (0),
	// length (2-byte varint), packet number
	return 1 + 4 + 1 + ConnIDLen + 1 + ConnIDLen + 1 + 2 + pnLen
}

// payloadLen is the length of the CRYPTO frame, before padding.
func (b *Builder) payloadLen() int {
	return 1 + 1 + len(appendVarint(nil, uint64(len(b.hello)))) + len(b.hello)
}

// Append appends to dst one Size-byte Initial packet with destination
// connection id dcid, its payload protected with the keys derived from
// dcid. With undecryptable set, the payload is protected with keys derived
// from another connection id instead: a server can read the header but
// not the payload, and drops the packet once it has made a connection for
// it.
func (b *Builder) Append(dst []byte, dcid [ConnIDLen]byte, undecryptable bool) []byte {
	keyID := dcid
	if undecryptable {
		for i := range keyID {
			keyID[i] ^= 0xff
		}
	}
	k := clientKeys(keyID[:])
	start := len(dst)
	hl := b.headerLen()
	payloadEnd := Size - tagLen // where the ciphertext's tag begins
	dst = append(dst, firstByte)
	dst = binary.BigEndian.AppendUint32(dst, Version)
	dst = append(dst, ConnIDLen)
	dst = append(dst, dcid[:]...)
	dst = append(dst, ConnIDLen)
	dst = append(dst, b.scid[:]...)
	dst = append(dst, 0) // no token
	// Length covers the packet number and the protected payload.
	dst = binary.BigEndian.AppendUint16(dst, 0x4000|uint16(Size-(hl-pnLen)))
	pnOff := len(dst) - start
	dst = append(dst, 0, 0, 0, 0) // packet number 0
	// CRYPTO frame, offset 0, then PADDING (zero bytes) to the tag.
	dst = append(dst, frameCrypto, 0)
	dst = appendVarint(dst, uint64(len(b.hello)))
	dst = append(dst, b.hello...)
	for len(dst)-start < payloadEnd {
		dst = append(dst, 0)
	}
	dst = slices.Grow(dst, tagLen) // Seal writes the tag in place
	pkt := dst[start:]
	// Packet number 0: the nonce is the IV itself.
	sealed := k.aead.Seal(pkt[hl:hl], k.iv[:], pkt[hl:payloadEnd], pkt[:hl])
	dst = dst[:start+hl+len(sealed)]
	pkt = dst[start:]
	// Header protection (RFC 9001 §5.4): the sample starts 4 bytes after
	// the packet number's offset.
	var mask [aes.BlockSize]byte
	k.hp.Encrypt(mask[:], pkt[pnOff+4:pnOff+4+sampleLen])
	pkt[0] ^= mask[0] & 0x0f
	for i := range pnLen {
		pkt[pnOff+i] ^= mask[1+i]
	}
	return dst
}

type keys struct {
	aead cipher.AEAD
	iv   [12]byte
	hp   cipher.Block
}

// clientKeys derives the client's Initial keys from the destination
// connection id (RFC 9001 §5.2).
func clientKeys(dcid []byte) keys {
	secret := expandLabel(extract(dcid), "client in", 32)
	block, _ := aes.NewCipher(expandLabel(secret, "quic key", 16))
	aead, _ := cipher.NewGCM(block)
	var k keys
	k.aead = aead
	copy(k.iv[:], expandLabel(secret, "quic iv", 12))
	k.hp, _ = aes.NewCipher(expandLabel(secret, "quic hp", 16))
	return k
}

// extract is initial_secret = HKDF-Extract(initial_salt, dcid).
func extract(dcid []byte) []byte {
	initial, _ := hkdf.Extract(sha256.New, dcid, salt)
	return initial
}

// expandLabel is TLS 1.3's HKDF-Expand-Label with an empty context.
func expandLabel(secret []byte, label string, n int) []byte {
	info := binary.BigEndian.AppendUint16(nil, uint16(n))
	info = append(info, byte(len("tls13 ")+len(label)))
	info = append(info, "tls13 "+label...)
	info = append(info, 0)
	out, _ := hkdf.Expand(sha256.New, secret, string(info), n)
	return out
}

// appendVarint appends v as a QUIC variable-length integer (RFC 9000 §16);
// v must be below 2^62.
func appendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return binary.BigEndian.AppendUint16(b, 0x4000|uint16(v))
	case v < 1<<30:
		return binary.BigEndian.AppendUint32(b, 0x80000000|uint32(v))
	}
	return binary.BigEndian.AppendUint64(b, 0xc000000000000000|v)
}

// Kind is what a server's long-header packet is, as far as a flood cares.
type Kind int

// Kinds of answers.
const (
	KindOther     Kind = iota
	KindInitial        // the server made a connection and sent its first flight
	KindHandshake      // the same connection's Handshake packet
	KindRetry          // the server asked for address validation
)

// Classify reads the clear part of a long-header packet a server sent:
// its kind and its Source Connection ID (the server's id of the connection
// it made; empty but for Initial, Handshake and Retry packets). The
// returned slice points into p.
func Classify(p []byte) (Kind, []byte) {
	if len(p) < 7 || p[0]&0x80 == 0 || binary.BigEndian.Uint32(p[1:5]) != Version {
		return KindOther, nil
	}
	dl := int(p[5])
	if len(p) < 6+dl+1 {
		return KindOther, nil
	}
	sl := int(p[6+dl])
	if sl > 20 || len(p) < 7+dl+sl {
		return KindOther, nil
	}
	scid := p[7+dl : 7+dl+sl]
	switch (p[0] >> 4) & 0x3 {
	case 0:
		return KindInitial, scid
	case 2:
		return KindHandshake, scid
	case 3:
		return KindRetry, scid
	}
	return KindOther, nil
}
