//go:build unix

package main

import "syscall"

// restrictUmask makes whatever the command creates without an explicit
// mode private to its user (umask 077), whatever umask it was started
// with: a second guard behind the modes the gateway and the store set
// themselves. Public files (server.card, tls.crt) become 0600 too; the
// data directory is 0700 anyway.
func restrictUmask() { syscall.Umask(0o077) }
