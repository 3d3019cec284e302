// Package listen opens the TCP listeners of evbench's own HTTP endpoints
// (the Prometheus exporter, the browser dashboard). It exists so that both
// check the address the same way and before the load starts: a run of an
// hour that ends with "address in use" would waste the hour, and an
// exporter that serves the whole network by accident exposes the run.
//
// Every error is one line that names the flag and says how to fix it, as
// the CLI prints it as is.
package listen

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// Error is a rejected or failed address. Its message is one line meant
// for the user; Err, when set, is the underlying cause (for errors.Is,
// e.g. syscall.EADDRINUSE), kept out of the message so the line stays
// readable.
type Error struct {
	Flag   string // e.g. --metrics-addr
	Addr   string // as the user wrote it
	Reason string // what is wrong and the fix
	Err    error
}

// Error returns "FLAG ADDR: REASON".
func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Flag, quote(e.Addr), e.Reason)
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Open checks addr (HOST:PORT) and listens on it over TCP.
//
// flag is the flag's name as the user types it ("--metrics-addr"; a name
// without dashes gets "--"). Without listenAny the host must be loopback
// (127.0.0.0/8, ::1 or localhost): evbench's endpoints have no
// authentication, so serving other hosts is an explicit choice
// (--listen-any). Names other than localhost are not resolved and count
// as not loopback, since a name may resolve to anything. An empty host
// (":9464") means every interface and is not loopback either. Port 0
// picks a free port; the caller reads it from the listener's Addr.
func Open(flag, addr string, listenAny bool) (net.Listener, error) {
	if !strings.HasPrefix(flag, "-") {
		flag = "--" + flag
	}
	fail := func(reason string, err error) (net.Listener, error) {
		return nil, &Error{Flag: flag, Addr: addr, Reason: reason, Err: err}
	}

	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fail(fmt.Sprintf("not HOST:PORT; write it like %s or [::1]:%s",
			net.JoinHostPort("127.0.0.1", examplePort(addr)), examplePort(addr)), err)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fail(fmt.Sprintf("port %q is not a number 0-65535; e.g. %s %s",
			port, flag, net.JoinHostPort(orLoopback(host), "9464")), err)
	}
	if !listenAny && !IsLoopback(host) {
		return fail("not a loopback address; add --listen-any to serve other hosts", nil)
	}

	l, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return l, nil
	case errors.Is(err, syscall.EADDRINUSE):
		next := n + 1
		if next > 65535 {
			next = n - 1
		}
		return fail(fmt.Sprintf("address in use; pick another port, e.g. %s %s",
			flag, net.JoinHostPort(host, strconv.FormatUint(next, 10))), err)
	case errors.Is(err, syscall.EACCES):
		return fail("permission denied (ports below 1024 need privileges); pick a port above 1023", err)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fail("no interface of this machine has that address; use 127.0.0.1 or one of its own addresses", err)
	default:
		// Keep the cause, but on the same line: net errors are one line.
		return fail(fmt.Sprintf("cannot listen: %v", err), err)
	}
}

// IsLoopback reports whether host (as in HOST:PORT, without brackets) is
// a loopback address: an IP in 127.0.0.0/8 or ::1 (an IPv4-mapped one
// too), or the name localhost. Other names are not resolved and are not
// loopback.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.Unmap().IsLoopback()
}

// examplePort is the port to show in a fix: the user's own if they wrote
// only a port ("9464"), else the exporter's usual one.
func examplePort(addr string) string {
	if _, err := strconv.ParseUint(addr, 10, 16); err == nil {
		return addr
	}
	return "9464"
}

// orLoopback keeps the user's host in an example unless it is empty.
func orLoopback(host string) string {
	if host == "" {
		return "127.0.0.1"
	}
	return host
}

// quote shows addr as written, in quotes only when it would otherwise be
// invisible or ambiguous (empty, spaces).
func quote(addr string) string {
	if addr == "" || strings.ContainsAny(addr, " \t\n") {
		return strconv.Quote(addr)
	}
	return addr
}
