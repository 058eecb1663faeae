// Package clienttest holds the client library's whole-system tests: a real
// gateway on loopback QUIC, in process, and Licensees against it with a
// fake clock. It has no code of its own; it exists because clients may
// not import the gateway, and its tests need one.
package clienttest
