package listen

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestOpenRejects(t *testing.T) {
	tests := []struct {
		name      string
		flag      string
		addr      string
		listenAny bool
		want      string
	}{
		{"any interface", "--metrics-addr", "0.0.0.0:9464", false,
			"--metrics-addr 0.0.0.0:9464: not a loopback address; add --listen-any to serve other hosts"},
		{"empty host", "--metrics-addr", ":9464", false,
			"--metrics-addr :9464: not a loopback address; add --listen-any to serve other hosts"},
		{"lan address", "--dashboard-addr", "192.168.1.10:8080", false,
			"--dashboard-addr 192.168.1.10:8080: not a loopback address; add --listen-any to serve other hosts"},
		{"name not resolved", "--metrics-addr", "example.com:9464", false,
			"--metrics-addr example.com:9464: not a loopback address; add --listen-any to serve other hosts"},
		{"ipv6 any", "--metrics-addr", "[::]:9464", false,
			"--metrics-addr [::]:9464: not a loopback address; add --listen-any to serve other hosts"},
		{"flag without dashes", "metrics-addr", "0.0.0.0:9464", false,
			"--metrics-addr 0.0.0.0:9464: not a loopback address; add --listen-any to serve other hosts"},
		{"port only", "--metrics-addr", "9464", false,
			"--metrics-addr 9464: not HOST:PORT; write it like 127.0.0.1:9464 or [::1]:9464"},
		{"port only, other port", "--dashboard-addr", "8080", true,
			"--dashboard-addr 8080: not HOST:PORT; write it like 127.0.0.1:8080 or [::1]:8080"},
		{"empty", "--metrics-addr", "", false,
			`--metrics-addr "": not HOST:PORT; write it like 127.0.0.1:9464 or [::1]:9464`},
		{"ipv6 without brackets", "--metrics-addr", "::1:9464", false,
			"--metrics-addr ::1:9464: not HOST:PORT; write it like 127.0.0.1:9464 or [::1]:9464"},
		{"named port", "--metrics-addr", "127.0.0.1:http", false,
			`--metrics-addr 127.0.0.1:http: port "http" is not a number 0-65535; e.g. --metrics-addr 127.0.0.1:9464`},
		{"port too large", "--metrics-addr", "localhost:70000", false,
			`--metrics-addr localhost:70000: port "70000" is not a number 0-65535; e.g. --metrics-addr localhost:9464`},
		{"malformed wins over loopback", "--metrics-addr", "0.0.0.0:x", false,
			`--metrics-addr 0.0.0.0:x: port "x" is not a number 0-65535; e.g. --metrics-addr 0.0.0.0:9464`},
		{"space in address", "--metrics-addr", "127.0.0.1: 9464", false,
			`--metrics-addr "127.0.0.1: 9464": port " 9464" is not a number 0-65535; e.g. --metrics-addr 127.0.0.1:9464`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Open(tt.flag, tt.addr, tt.listenAny)
			if err == nil {
				l.Close()
				t.Fatalf("Open(%q, %q, %v) = nil error, want %q", tt.flag, tt.addr, tt.listenAny, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\n got %q\nwant %q", got, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			var le *Error
			if !errors.As(err, &le) {
				t.Errorf("error %T is not a *listen.Error", err)
			}
		})
	}
}

func TestOpenLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "LOCALHOST:0"} {
		l, err := Open("--metrics-addr", addr, false)
		if err != nil {
			t.Errorf("Open(%q): %v", addr, err)
			continue
		}
		if ip := l.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			t.Errorf("Open(%q) listens on %v, want loopback", addr, ip)
		}
		l.Close()
	}
}

func TestOpenListenAny(t *testing.T) {
	// With --listen-any a non-loopback host is accepted. 0.0.0.0 exists on
	// every machine, unlike a LAN address.
	l, err := Open("--metrics-addr", "0.0.0.0:0", true)
	if err != nil {
		t.Fatalf("Open(0.0.0.0:0, listenAny): %v", err)
	}
	l.Close()
}

func TestOpenInUse(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	addr := "127.0.0.1:" + strconv.Itoa(port)

	l, err := Open("--metrics-addr", addr, false)
	if err == nil {
		l.Close()
		t.Fatalf("Open(%s) while held: nil error", addr)
	}
	next := port + 1
	if next > 65535 {
		next = port - 1
	}
	want := "--metrics-addr " + addr + ": address in use; pick another port, e.g. --metrics-addr 127.0.0.1:" + strconv.Itoa(next)
	if err.Error() != want {
		t.Errorf("error\n got %q\nwant %q", err, want)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("errors.Is(err, EADDRINUSE) = false for %v", err)
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.1.2.3", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"localhost", true},
		{"Localhost", true},
		{"0.0.0.0", false},
		{"::", false},
		{"", false},
		{"10.0.0.1", false},
		{"128.0.0.1", false},
		{"localhost.example.com", false},
		{"evil-localhost", false},
	}
	for _, tt := range tests {
		if got := IsLoopback(tt.host); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}
