package redis

import (
	"strings"
	"testing"
	"time"
)

func TestParseDSN(t *testing.T) {
	def := Config{Addr: "127.0.0.1:6379", Stream: "evbench", Shards: 1, Conns: 2, Timeout: 5 * time.Second}
	for _, tc := range []struct {
		dsn  string
		want func(c *Config)
	}{
		{"redis://127.0.0.1:6379", func(c *Config) {}},
		{"redis://127.0.0.1", func(c *Config) {}},
		{"redis://127.0.0.1:6379/0?stream=evb-1&shards=4", func(c *Config) { c.Stream, c.Shards = "evb-1", 4 }},
		{"redis://:s3cret@127.0.0.1:6380/2", func(c *Config) { c.Addr, c.Password, c.DB = "127.0.0.1:6380", "s3cret", 2 }},
		{"redis://bob:pw@127.0.0.1:6379?conns=8&timeout=2s", func(c *Config) { c.User, c.Password, c.Conns, c.Timeout = "bob", "pw", 8, 2*time.Second }},
		{"rediss://cache.example.com:6380", func(c *Config) { c.Addr = "cache.example.com:6380" }},
		{"redis://[::1]:6379/", func(c *Config) { c.Addr = "[::1]:6379" }},
	} {
		want := def
		tc.want(&want)
		got, err := ParseDSN(tc.dsn)
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", tc.dsn, err)
			continue
		}
		// TLS is checked in TestParseDSNTLS (tls_dsn_test.go): only
		// whether the scheme turned it on is compared here.
		if got.TLS.Enabled != strings.HasPrefix(tc.dsn, "rediss://") {
			t.Errorf("ParseDSN(%q): TLS.Enabled = %v", tc.dsn, got.TLS.Enabled)
		}
		got.TLS = want.TLS
		if got != want {
			t.Errorf("ParseDSN(%q) =\n %+v, want\n %+v", tc.dsn, got, want)
		}
	}
}

func TestParseDSNErrors(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"http://127.0.0.1:6379", `scheme "http"`},
		{"redis://127.0.0.1:6379?foo=1", `parameter "foo" is unknown; known: ca, cert, conns, insecure_skip_verify, key, server_name, shards, stream, timeout, tls`},
		{"redis://127.0.0.1:6379?shards=0", "shards=\"0\": want a stream count from 1 to 256"},
		{"redis://127.0.0.1:6379?shards=257", "from 1 to 256"},
		{"redis://127.0.0.1:6379?conns=x", "conns=\"x\""},
		{"redis://127.0.0.1:6379?timeout=5", "positive duration with a unit"},
		{"redis://127.0.0.1:6379?shards=2&shards=3", `redis: DSN parameter "shards" is given 2 times; give it once`},
		{"redis://127.0.0.1:6379?timeout=0s", `redis: DSN parameter timeout="0s": want a positive duration with a unit, e.g. 5s`},
		{"redis://127.0.0.1:6379?stream=a%20b", "without spaces"},
		{"redis://127.0.0.1:6379?stream=", "without spaces"},
		{"redis://127.0.0.1:6379/evbench", "not a database number"},
		{"redis://127.0.0.1:99999", `port "99999"`},
		{"redis://a:6379,b:6379", "one server only"},
		{"redis:///0", "no host"},
		{"redis://u:hunter22@[::1", "want e.g."},
	} {
		_, err := ParseDSN(tc.dsn)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseDSN(%q) error = %v, want it to contain %q", tc.dsn, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter22") {
			t.Errorf("ParseDSN(%q) error shows the password: %v", tc.dsn, err)
		}
	}
}

func TestStreamKeysAndIDs(t *testing.T) {
	one := Config{Stream: "s", Shards: 1}
	four := Config{Stream: "s", Shards: 4}
	if one.streamKey(0) != "s" || four.streamKey(3) != "s:3" {
		t.Errorf("stream keys: %q %q", one.streamKey(0), four.streamKey(3))
	}
	if afterOffset(0) != "0-0" || afterOffset(7) != "0-7" || entryID(7) != "0-8" {
		t.Errorf("ids: after(0)=%s after(7)=%s entry(7)=%s", afterOffset(0), afterOffset(7), entryID(7))
	}
	for _, tc := range []struct {
		id   string
		seq  uint64
		fail bool
	}{{"0-1", 1, false}, {"0-42", 42, false}, {"1700000000000-0", 0, true}, {"0-0", 0, true}, {"0-x", 0, true}, {"7", 0, true}} {
		seq, err := entrySeq(tc.id)
		if (err != nil) != tc.fail || seq != tc.seq {
			t.Errorf("entrySeq(%q) = %d, %v; want %d, fail=%v", tc.id, seq, err, tc.seq, tc.fail)
		}
	}
	// The shard of a key is stable (FNV-1a) and spreads keys.
	seen := map[int]bool{}
	for i := 0; i < 64; i++ {
		k := "order-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		s := shardOf(k, 4)
		if s != shardOf(k, 4) || s < 0 || s > 3 {
			t.Fatalf("shardOf(%q) unstable or out of range: %d", k, s)
		}
		seen[s] = true
	}
	if len(seen) != 4 || shardOf("anything", 1) != 0 {
		t.Errorf("64 keys hit shards %v of 4", seen)
	}
	// Keys differing only in bytes of one parity still spread (plain
	// FNV-1a modulo 2 puts "k", "kx", "kxx", ... all on one shard).
	count := [2]int{}
	for i := 0; i < 200; i++ {
		count[shardOf("k"+strings.Repeat("x", i), 2)]++
	}
	if count[0] < 60 || count[1] < 60 {
		t.Errorf("200 keys k, kx, kxx, ... over 2 shards: %v", count)
	}
	// Pinned: the shard of a key must never change between releases, or
	// a key's old and new events would sit in two streams.
	if got := [3]int{shardOf("order-1", 4), shardOf("order-2", 4), shardOf("customer-42", 16)}; got != [3]int{1, 3, 9} {
		t.Errorf("shards of pinned keys = %v, want [1 3 9]", got)
	}
}
