package main

import (
	"github.com/tollgate/tollgate/clients/bridge"
	"github.com/tollgate/tollgate/clients/internal/cli"
)

// openapi prints the OpenAPI 3 document of the bridge's HTTP API.
func (s *shop) openapi(args []string) int {
	fs := newFlagSet("openapi")
	pos, code, done := s.parse("openapi", fs, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return s.fail(cli.ExitUsage, cli.Usage("tollgate-shop openapi --help", "openapi takes no arguments."))
	}
	s.stdout.Write(bridge.OpenAPI())
	return cli.ExitOK
}
