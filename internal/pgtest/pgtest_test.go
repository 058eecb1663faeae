package pgtest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestURL: each call makes a new, empty database that the test may use,
// and it is dropped when the test ends.
func TestURL(t *testing.T) {
	server := Server(t)
	var names []string
	t.Run("made", func(t *testing.T) {
		u1, u2 := URL(t), URL(t)
		for _, u := range []string{u1, u2} {
			ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
			defer cancel()
			conn, err := pgx.Connect(ctx, u)
			if err != nil {
				t.Fatalf("connect to the test database: %v", redacted(err, pw(t, server)))
			}
			defer conn.Close(ctx)
			var name string
			var tables int
			if err := conn.QueryRow(ctx, `SELECT current_database(), (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')`).Scan(&name, &tables); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(name, "tollgate_test_") || tables != 0 {
				t.Fatalf("database %q with %d tables; want a new tollgate_test_ one, empty", name, tables)
			}
			if _, err := conn.Exec(ctx, `CREATE TABLE t (a bigint)`); err != nil {
				t.Fatalf("the test cannot use its database: %v", err)
			}
			names = append(names, name)
		}
		if names[0] == names[1] {
			t.Fatalf("two calls gave the same database %s", names[0])
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connect to the test server: %v", redacted(err, pw(t, server)))
	}
	defer conn.Close(ctx)
	var left int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = ANY($1)`, names).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d of the test's databases left after it ended (%v)", left, err)
	}
}

func pw(t *testing.T, server string) string {
	cfg, err := pgx.ParseConfig(server)
	if err != nil {
		t.Fatal("the test server's connection string does not parse")
	}
	return cfg.Password
}

// TestWithoutServer: without TOLLGATE_TEST_POSTGRES a test that needs a
// database skips, saying how to run it, except under CI=true, where it
// fails.
func TestWithoutServer(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		Server(t)
		t.Log("reached past Server")
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, ci := range []string{"", "true"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, exe, "-test.run=^TestWithoutServer$", "-test.v")
		cmd.Env = append(withoutEnv(os.Environ(), EnvVar, "CI"), "PGTEST_CHILD=1", "CI="+ci)
		out, err := cmd.CombinedOutput()
		text := string(out)
		if strings.Contains(text, "reached past Server") || !strings.Contains(text, EnvVar+"=postgres://") {
			t.Fatalf("CI=%q: the test went on, or did not say how to run it:\n%s", ci, text)
		}
		switch ci {
		case "true":
			if err == nil || !strings.Contains(text, "--- FAIL") {
				t.Fatalf("CI=true: the test did not fail:\n%s", text)
			}
		default:
			if err != nil || !strings.Contains(text, "--- SKIP") {
				t.Fatalf("without CI: the test did not skip (%v):\n%s", err, text)
			}
		}
	}
}

// withoutEnv returns env without the variables named.
func withoutEnv(env []string, names ...string) []string {
	var out []string
next:
	for _, kv := range env {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}
