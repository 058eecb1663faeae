package pgdb

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/internal/pgtest"
)

// TestCreateDrop: Create makes a new, empty database of the prefix, which
// its URL reaches; Drop removes it.
func TestCreateDrop(t *testing.T) {
	server := pgtest.Server(t)
	ctx := hang.Context(t)
	db, err := Create(ctx, server, "tollgate_pgdb_test_")
	if err != nil {
		t.Fatal(err)
	}
	dropped := false
	defer func() {
		if !dropped {
			db.Drop(context.Background())
		}
	}()
	if !strings.HasPrefix(db.Name, "tollgate_pgdb_test_") || len(db.Name) != len("tollgate_pgdb_test_")+16 {
		t.Errorf("database name %q", db.Name)
	}
	if cfg, _ := pgx.ParseConfig(server); cfg.Password != "" && strings.Contains(db.Where(), cfg.Password) {
		t.Errorf("Where names the password")
	}
	conn, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		t.Fatalf("connect to the new database: %v", err)
	}
	var name string
	var tables int
	err = conn.QueryRow(ctx, `SELECT current_database(), (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')`).Scan(&name, &tables)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if name != db.Name || tables != 0 {
		t.Errorf("connected to %q with %d tables; want %q, empty", name, tables, db.Name)
	}
	if err := db.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	dropped = true
	if _, err := pgx.Connect(ctx, db.URL); err == nil {
		t.Errorf("the dropped database still takes connections")
	}
}

func TestNotAURL(t *testing.T) {
	_, err := Create(context.Background(), "host=127.0.0.1 password=secret-pw", "x_")
	if !errors.Is(err, ErrServer) || strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("got %v; want ErrServer without the password", err)
	}
}
