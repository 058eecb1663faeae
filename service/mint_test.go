package service

import (
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/keygen"
)

// TestMintKeysAudited: keys minted by the operator are recorded in the
// audit log, in the same commit, without the keys themselves.
func TestMintKeysAudited(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	st := s.st
	p, _ := keygen.ParseProductCode("1AJS2")
	keys, err := MintKeys(st, s.keys.Hasher, p, 3, Spec{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	es, err := st.AuditLog(0)
	if err != nil || len(es) != 1 || es[0].Kind != "mint" || es[0].Detail != "3 keys of 1AJS2 by operator" {
		t.Fatalf("audit log = %+v, %v; want one mint entry", es, err)
	}
	for _, k := range keys {
		if strings.Contains(es[0].Detail+es[0].License, string(k[:])) {
			t.Fatal("the audit entry holds a key")
		}
	}
}
