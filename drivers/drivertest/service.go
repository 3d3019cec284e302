package drivertest

import (
	"net"
	"os"
	"testing"
	"time"
)

// RequireService skips the test when the service name at addr is not
// reachable, so `go test` stays green on machines without it; in CI
// (CI=true) a missing service is a failure, because a skipped suite there
// would hide a broken driver.
func RequireService(t testing.TB, name, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		conn.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s at %s unreachable in CI: %v", name, addr, err)
	}
	t.Skipf("%s at %s unreachable (%v); start it to run this test", name, addr, err)
}

// ClosedAddr returns a 127.0.0.1 address where nothing listens (a port that
// was just bound and released), for "unreachable store" tests.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
