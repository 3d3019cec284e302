package httpdriver

import (
	"strings"
	"testing"
	"time"
)

func TestParseDSNDefaults(t *testing.T) {
	cfg, err := parseDSN("http://127.0.0.1:8080/streams/{key}")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.eventsPath != "/events" || cfg.headPath != "/head" || cfg.infoPath != "/info" || cfg.mode != "sse" ||
		cfg.maxInflight != 32 || cfg.timeout != 10*time.Second || cfg.batchSet {
		t.Fatalf("defaults: %+v", cfg)
	}
	if got := cfg.streamURL("order/17 a"); got != "http://127.0.0.1:8080/streams/order%2F17%20a" {
		t.Fatalf("streamURL = %q: a key must stay one escaped path segment", got)
	}
}

func TestParseDSNParams(t *testing.T) {
	cfg, err := parseDSN("https://u:pw@gw.example:8443/api/{key}/commands?events=/q/events&head=/q/head&info=none&batch=none&mode=poll&max_inflight=4&timeout=2s&poll_interval=5ms&poll_limit=10")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.origin != "https://gw.example:8443" || cfg.streamPath != "/api/{key}/commands" || cfg.eventsPath != "/q/events" ||
		cfg.headPath != "/q/head" || cfg.infoPath != "" || !cfg.batchSet || cfg.batchPath != "" || cfg.mode != "poll" ||
		cfg.maxInflight != 4 || cfg.timeout != 2*time.Second || cfg.pollEvery != 5*time.Millisecond || cfg.pollLimit != 10 ||
		!cfg.hasAuth || cfg.user != "u" || cfg.pass != "pw" {
		t.Fatalf("parsed: %+v", cfg)
	}
}

func TestParseDSNErrors(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"ftp://127.0.0.1:1/{key}", "want http[s]://"},
		{"http://127.0.0.1/streams/{key}", "needs a port"},
		{"http://127.0.0.1:8080/streams", "{key} exactly once"},
		{"http://127.0.0.1:8080/streams/{key}?bogus=1", `"bogus" is unknown; known: batch`},
		{"http://127.0.0.1:8080/streams/{key}?mode=ws", "want sse or poll"},
		{"http://127.0.0.1:8080/streams/{key}?events=events", "starting with /"},
		{"http://127.0.0.1:8080/streams/{key}?max_inflight=0", "1-1024"},
		{"http://127.0.0.1:8080/streams/{key}?timeout=-1s", "positive duration"},
		{"http://127.0.0.1:8080/streams/{key}?mode=sse&mode=poll", `http: DSN parameter "mode" is given 2 times; give it once`},
		{"http://127.0.0.1:8080/streams/{key}?coalesce=10001", `http: DSN parameter coalesce="10001": want an integer 1-10000`},
		{"http://127.0.0.1:8080/streams/{key}?info=info", `http: DSN parameter info="info": want a path starting with /, or none`},
		{"http://127.0.0.1:8080/streams/{key}?proto=h3", `http: DSN parameter proto="h3": want http1 or h2`},
		{"http://bob:s3cretpw@127.0.0.1/streams/{key}", "needs a port"},
	} {
		_, err := parseDSN(tc.dsn)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseDSN(%q) = %v, want an error containing %q", tc.dsn, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("parseDSN(%q) leaks the password: %v", tc.dsn, err)
		}
	}
}
