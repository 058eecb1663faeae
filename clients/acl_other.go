//go:build !windows

package clients

// restrictDir is a no-op: the state directory is created with mode 0700
// and its files with 0600.
func restrictDir(string) error { return nil }
