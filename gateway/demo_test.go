package gateway_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway"
)

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := gateway.RunDemo(context.Background(), &out); err != nil {
		t.Fatalf("RunDemo: %v\n%s", err, out.String())
	}
	for _, want := range []string{"minted order DEMO-ORDER-1", "same 5 keys", "activated key", "validated the license: OK", "deactivated", "gateway stopped"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}
