package refstore

import (
	"testing"
	"time"
)

func TestParseDSN(t *testing.T) {
	cfg, err := parseDSN("refstore://127.0.0.1:7600")
	if err != nil || cfg.addr != "127.0.0.1:7600" || cfg.conns != 1 || cfg.dialTimeout != 5*time.Second {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	cfg, err = parseDSN("refstore://127.0.0.1:7600/?conns=16&dial_timeout=250ms")
	if err != nil || cfg.conns != 16 || cfg.dialTimeout != 250*time.Millisecond {
		t.Errorf("parameters: %+v, %v", cfg, err)
	}
	for _, tc := range []struct{ dsn, want string }{
		{"refstore://h:1?conn=2", `refstore: DSN parameter "conn" is unknown; known: conns (append connections, 1-16 (default 1)), dial_timeout (dial and handshake timeout, e.g. 2s (default 5s))`},
		{"refstore://h:1?conns=2&conns=3", `refstore: DSN parameter "conns" is given 2 times; give it once`},
		{"refstore://h:1?conns=17", `refstore: DSN parameter conns="17": want an integer 1-16`},
		{"refstore://h:1?dial_timeout=2", `refstore: DSN parameter dial_timeout="2": want a positive duration like 2s`},
		{"refstore://h:1/log", `refstore: DSN "refstore://h:1/log": unexpected path "/log" (refstore has one log; remove it)`},
		{"refstore://h?conns=1", `refstore: DSN "refstore://h?conns=1": host "h" needs a port, e.g. refstore://127.0.0.1:7600`},
	} {
		if _, err := parseDSN(tc.dsn); err == nil || err.Error() != tc.want {
			t.Errorf("parseDSN(%q) = %v; want %q", tc.dsn, err, tc.want)
		}
	}
}
