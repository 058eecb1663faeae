package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/tollgate/tollgate/clients/bridge"
)

// TestOpenAPICommand: 'tollgate-shop openapi' prints the bridge's
// OpenAPI 3 document.
func TestOpenAPICommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"openapi"}, &out, &errb); code != 0 {
		t.Fatalf("openapi: exit %d: %s", code, errb.String())
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || doc.OpenAPI != "3.0.3" || len(doc.Paths) == 0 {
		t.Fatalf("openapi printed no OpenAPI 3 document: %v", err)
	}
	if !bytes.Equal(out.Bytes(), bridge.OpenAPI()) {
		t.Fatalf("openapi printed another document than the bridge's")
	}
	if code := run([]string{"openapi", "x"}, &out, &errb); code != 2 {
		t.Fatalf("openapi with an argument: exit %d, want 2", code)
	}
}
