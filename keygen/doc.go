// Package keygen makes and reads Tollgate license keys, and derives the keyed
// hash under which the store finds a key.
//
// A license key is 30 characters from 0-9A-Z: a 5-character product code,
// 24 characters from crypto/rand (about 124 bits) and a check character
// (Damm's algorithm over a quasigroup of order 36) that catches every
// single-character typo and every swap of two adjacent characters before any
// network traffic. People see it as
//
//	1AJS2-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX
//
// and may type it in either case, with or without dashes and spaces.
//
// A license key is a bearer secret. This package must never put a key, or
// any part of one beyond the product code, into an error message, a log
// line or the output of fmt: Key's String, GoString and Format print a
// redacted form, and errors say what is wrong, never with what. Only
// Display gives the whole key, for showing it to its owner. The store must
// never hold a key in the clear; it holds the KeyHash that a Hasher computes
// with a server secret, so a stolen database yields no usable keys.
//
// keygen imports only the standard library (and circl, in keygen/composite),
// so that the thin client can use it.
package keygen
