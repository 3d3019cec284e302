package nats

import (
	"strings"
	"testing"
	"time"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn     string
		wantErr string // substring; "" = valid
		check   func(Config) bool
	}{
		{"nats://127.0.0.1:4222", "", func(c Config) bool {
			return c.Stream == "EVBENCH" && c.Subjects == "evbench.>" && c.Storage == "file" && c.Replicas == 1 &&
				c.Consumer == "ordered" && c.DupeWindow == 2*time.Minute && c.MaxPending == 4096 && c.prefix() == "evbench."
		}},
		{"nats://u:p@a:1,b:2?stream=S&subjects=x.y.>&storage=memory&replicas=3&consumer=durable&durable=d&dupe_window=30s&max_pending=10&ack_timeout=3s", "", func(c Config) bool {
			return c.User == "u" && c.Password == "p" && len(c.Servers) == 2 && c.Stream == "S" && c.prefix() == "x.y." &&
				c.Storage == "memory" && c.Replicas == 3 && c.Consumer == "durable" && c.Durable == "d" &&
				c.DupeWindow == 30*time.Second && c.MaxPending == 10 && c.AckTimeout == 3*time.Second
		}},
		{"nats://127.0.0.1:4222?strem=X", "known: ack_timeout", nil},
		{"kafka://127.0.0.1:4222", "scheme", nil},
		{"nats://127.0.0.1", "host:port", nil},
		{"nats://", "no server", nil},
		{"nats://h:1?storage=disk", "file or memory", nil},
		{"nats://h:1?subjects=evbench", "prefix wildcard", nil},
		{"nats://h:1?subjects=a.*.>", "prefix wildcard", nil},
		{"nats://h:1?stream=a.b", "stream name", nil},
		{"nats://h:1?replicas=0", "replica", nil},
		{"nats://h:1?dupe_window=120", "duration", nil},
		{"nats://h:1?max_pending=-1", ">= 1", nil},
		{"nats://h:1?consumer=push", "ordered or durable", nil},
		{"nats://h:1?stream=a&stream=b", `nats: DSN parameter "stream" is given 2 times; give it once`, nil},
		{"nats://h:1?replicas=9", `nats: DSN parameter replicas="9": want a replica count from 1 to 5`, nil},
		{"nats://bob:s3cret@h?stream=x", "host:port", nil},
	}
	for _, tc := range tests {
		t.Run(tc.dsn, func(t *testing.T) {
			c, err := ParseDSN(tc.dsn)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !tc.check(c) {
					t.Fatalf("parsed %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

func TestSubjectFor(t *testing.T) {
	tests := []struct {
		key, want string
		exact     bool
	}{
		{"order-17", "p.order-17", true},
		{"a.b", "p.a_b", false},
		{"x y*>", "p.x_y__", false},
		{"", "p._", false},
		{"café", "p.café", true},
	}
	for _, tc := range tests {
		got, exact := subjectFor("p.", tc.key)
		if got != tc.want || exact != tc.exact {
			t.Errorf("subjectFor(%q) = %q,%v want %q,%v", tc.key, got, exact, tc.want, tc.exact)
		}
	}
}

func TestSubjectCovers(t *testing.T) {
	tests := []struct {
		pat, sub string
		want     bool
	}{
		{"evbench.>", "evbench.>", true},
		{">", "evbench.>", true},
		{"evbench.*", "evbench.>", false},
		{"evbench.>", "evbench.a.>", true},
		{"evbench.a.>", "evbench.>", false},
		{"other.>", "evbench.>", false},
	}
	for _, tc := range tests {
		if got := subjectCovers(tc.pat, tc.sub); got != tc.want {
			t.Errorf("subjectCovers(%q, %q) = %v, want %v", tc.pat, tc.sub, got, tc.want)
		}
	}
}

// FuzzParseDSN: any input yields a config or an error, never a panic; an
// error never echoes a password.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"nats://127.0.0.1:4222?stream=EVBENCH", "tls://tok@h:1/?ca=/x&tls=false", "nats://u:pw@a:1,b:2?subjects=x.>", "nats://u:pw@%zz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		c, err := ParseDSN(dsn)
		if err == nil && (len(c.Servers) == 0 || c.Stream == "" || !strings.HasSuffix(c.Subjects, ".>")) {
			t.Fatalf("ParseDSN(%q) accepted an incomplete config %+v", dsn, c)
		}
	})
}
