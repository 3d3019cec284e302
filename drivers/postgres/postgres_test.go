package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
	"github.com/jackc/pgx/v5"
)

const testAddr = "127.0.0.1:5432"

// testDSN returns a DSN for a fresh schema on the local test server.
func testDSN(t testing.TB, extra string) (dsn, schema string) {
	t.Helper()
	drivertest.RequireService(t, "postgres", testAddr)
	var b [4]byte
	rand.Read(b[:])
	schema = "evbt_" + hex.EncodeToString(b[:])
	dsn = "postgres://postgres@" + testAddr + "/test?sslmode=disable&schema=" + schema + extra
	return dsn, schema
}

// openTest opens a driver on a fresh schema and drops it in Cleanup.
func openTest(t testing.TB, extra string) *Driver {
	t.Helper()
	dsn, schema := testDSN(t, extra)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, dsn, drivers.Options{Logf: t.Logf})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.Close()
		// The suite may have closed d: drop through a plain connection.
		conn, err := pgx.Connect(ctx, "postgres://postgres@"+testAddr+"/test?sslmode=disable")
		if err != nil {
			t.Errorf("cleanup: connect: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("cleanup: drop schema %s: %v", schema, err)
		}
	})
	return d
}

func TestConformance(t *testing.T) {
	t.Parallel()
	drivertest.Run(t, func(t *testing.T) drivers.Driver { return openTest(t, "") })
}

func TestConformanceCopy(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the default (values) path is covered by TestConformance")
	}
	drivertest.Run(t, func(t *testing.T) drivers.Driver { return openTest(t, "&batch_insert=copy") })
}

func TestConformanceNoNotify(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the NOTIFY and group-commit paths are covered by TestConformance")
	}
	drivertest.Run(t, func(t *testing.T) drivers.Driver { return openTest(t, "&notify=off&poll=10ms&group_commit=off") })
}

func TestDescribeReportsDurability(t *testing.T) {
	d := openTest(t, "")
	got := d.Describe()
	t.Logf("Describe: %s", got)
	for _, want := range []string{"postgres ", "synchronous_commit=on", "fsync="} {
		if !contains(got, want) {
			t.Errorf("Describe() = %q, missing %q", got, want)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
