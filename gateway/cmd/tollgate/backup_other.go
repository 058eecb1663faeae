//go:build !unix

package main

// shareWithGateway has nothing to do where the gateway and its operator
// are not told apart by file ownership.
func shareWithGateway(dir, data string) error { return nil }
