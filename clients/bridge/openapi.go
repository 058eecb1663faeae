package bridge

import _ "embed"

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3 document (JSON) of the bridge's HTTP API.
// Its tests hold it to the routes served and to the request and answer
// types.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }
