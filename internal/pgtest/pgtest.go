// Package pgtest gives tests a connection to the machine's Postgres
// (127.0.0.1:5432, trust auth, database test) and unique table names that
// are dropped after the test, so tests never touch data they did not make.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Addr is where the test Postgres listens.
const Addr = "127.0.0.1:5432"

// DSN is the test database's DSN.
const DSN = "postgres://postgres@" + Addr + "/test?sslmode=disable"

// Require skips the test when Postgres is unreachable (fails it when
// CI=true, where the service must be there).
func Require(t testing.TB) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", Addr, time.Second)
	if err == nil {
		conn.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("postgres at %s unreachable in CI: %v", Addr, err)
	}
	t.Skipf("postgres at %s unreachable (%v); start it to run this test", Addr, err)
}

// Pool returns a pool on the test database and a random suffix; every
// table named in drop (each + suffix) is dropped when the test ends.
func Pool(t testing.TB, drop ...string) (*pgxpool.Pool, string) {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, DSN)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	suffix := Suffix()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, tb := range drop {
			if _, err := pool.Exec(ctx, "DROP TABLE IF EXISTS "+tb+suffix); err != nil {
				t.Errorf("cleanup: drop %s: %v", tb+suffix, err)
			}
		}
		pool.Close()
	})
	return pool, suffix
}

// Suffix is a random lower-case hex suffix for table names.
func Suffix() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
