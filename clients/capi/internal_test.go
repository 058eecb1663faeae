package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/wire"
)

// TestPanicIsInternalError: a panic under an exported function comes back
// as TG_ERR_INTERNAL (199), never across the boundary.
func TestPanicIsInternalError(t *testing.T) {
	st := tg_close(nil) // a tg_status, TG_OK
	if st != 0 {
		t.Fatalf("tg_close(NULL) = %d, want TG_OK", st)
	}
	func() {
		var err error
		defer finish(&st, &err)
		var m map[string]int
		m["boom"]++ // a nil map: a runtime panic
	}()
	if st != 199 {
		t.Fatalf("status after a panic = %d, want TG_ERR_INTERNAL (199)", st)
	}
}

// TestReasonCodes: every reason the tg_reason enum names maps back to its
// own number, and the numbers are those of tollgate.h.
func TestReasonCodes(t *testing.T) {
	for i, r := range reasons {
		if got := reasonCode(r); int(got) != i {
			t.Errorf("reasonCode(%q) = %d, want %d", r, got, i)
		}
	}
	if len(reasons) != 20 || reasons[11] != "clock-set-back" || reasons[19] != "wrong-card" {
		t.Fatalf("the reasons table no longer matches tollgate.h's tg_reason: %q", reasons)
	}
	if got := reasonCode("a-reason-added-later"); got != 12 {
		t.Errorf("an unknown decided reason = %d, want TG_REASON_REFUSED (12)", got)
	}
}

// TestHeaderEnums: tollgate.h's tg_status numbers are the wire statuses
// (same names, same numbers) and its tg_reason numbers name the Go
// library's reasons as the reasons table does.
func TestHeaderEnums(t *testing.T) {
	h, err := os.ReadFile("tollgate.h")
	if err != nil {
		t.Fatal(err)
	}
	enum := func(name string) map[string]int {
		start := strings.Index(string(h), "typedef enum "+name+" {")
		end := strings.Index(string(h)[start:], "} "+name+";")
		if start < 0 || end < 0 {
			t.Fatalf("tollgate.h has no enum %s", name)
		}
		m := map[string]int{}
		re := regexp.MustCompile(`(?m)^\s*TG_([A-Z0-9_]+) = (\d+),?`)
		for _, f := range re.FindAllStringSubmatch(string(h)[start:start+end], -1) {
			n, _ := strconv.Atoi(f[2])
			m[f[1]] = n
		}
		return m
	}
	wireCount := 0
	for name, n := range enum("tg_status") {
		if n < 100 {
			wireCount++
			if s := wire.Status(n); !s.Known() || s.String() != name {
				t.Errorf("TG_%s = %d, but wire status %d is %s", name, n, n, s)
			}
		}
	}
	known := 0
	for s := range wire.Status(100) {
		if s.Known() {
			known++
		}
	}
	if wireCount != known {
		t.Errorf("tollgate.h names %d wire statuses, the wire package %d", wireCount, known)
	}
	reasonEnum := enum("tg_reason")
	if len(reasonEnum) != len(reasons) {
		t.Fatalf("tollgate.h names %d reasons, the table holds %d", len(reasonEnum), len(reasons))
	}
	for name, n := range reasonEnum {
		want := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "REASON_"), "_", "-"))
		if name == "REASON_NONE" {
			want = ""
		}
		if string(reasons[n]) != want {
			t.Errorf("TG_%s = %d names %q in the table, want %q", name, n, reasons[n], want)
		}
	}
}
