package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// runCLI runs the command line as main does (execute: scrubbed streams,
// the failure line, the exit code), with flags reset first.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	resetFlags(rootCmd)
	rootCmd.SetArgs(args)
	var so, se bytes.Buffer
	code = execute(&so, &se)
	return code, so.String(), se.String()
}

// secretForms are the spellings of pw a leak could take: raw,
// url.QueryEscape, url.PathEscape and userinfo-escaped.
func secretForms(pw string) []string {
	ui := strings.TrimPrefix(url.UserPassword("u", pw).String(), "u:")
	var out []string
	for _, f := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw), ui} {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// TestNoSecretInAnyOutput (issue 11): a password given in --dsn,
// --toxiproxy or DOCKER_HOST appears in nothing `evbench run` writes, for
// every registered driver, whichever way the run fails: not on stdout or
// stderr, not in result.json, report.md, report.html, junit.xml or any
// other file of --out, raw or URL-escaped. Each case also pins its exit
// code: 2 for a DSN CheckDSN refuses, 3 for a store or Toxiproxy that
// cannot be reached, 0 for a run that completes.
func TestNoSecretInAnyOutput(t *testing.T) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	tag := hex.EncodeToString(b)
	pw := "pw-" + tag           // plain: the same in every escaping
	odd := "p@ss/w:rd+ %" + tag // needs escaping in a userinfo and a query
	oddUI := url.UserPassword("u", odd).String()
	qOdd := url.QueryEscape(odd) // as a query value
	fault := "faults=[{at: 0s, for: 1s, path: consumer, kind: partition}]"
	short := []string{"--duration", "1s", "-q"}

	type tc struct {
		name  string
		args  []string
		code  int
		want  string // the output names what went wrong
		noRun bool   // fails before the runner: no result written
	}
	run := func(name, driver, dsn string, code int, want string) tc {
		return tc{name: name, args: append([]string{"run", "burst", "--driver", driver, "--dsn", dsn}, short...), code: code, want: want}
	}
	cases := []tc{
		run("refstore/bad host", "refstore", "refstore://u:"+pw+"@nohost.invalid:7600", exitIncomplete, "nohost.invalid"),
		run("refstore/bad port", "refstore", "refstore://u:"+pw+"@127.0.0.1:1", exitIncomplete, "127.0.0.1:1"),
		run("refstore/bad parameter", "refstore", "refstore://u:"+pw+"@127.0.0.1:1?nosuchparam=1", exitUsage, "nosuchparam"),
		run("refstore/unparsable", "refstore", "refstore://u:"+pw+"@[::1", exitUsage, "refstore://xxxxx@[::1"),
		run("refstore/password parameter", "refstore", "refstore://127.0.0.1:1?password="+pw, exitUsage, "password"),

		run("kafka/userinfo without port", "kafka", "kafka://u:"+pw+"@127.0.0.1", exitUsage, "host:port"),
		run("kafka/userinfo bad host", "kafka", "kafka://u:"+pw+"@nohost.invalid:9092?tls=true", exitIncomplete, "nohost.invalid"),
		run("kafka/plaintext password", "kafka", "kafka://"+oddUI+"@127.0.0.1:1?tls=false&sasl=scram-sha-512", exitIncomplete, "127.0.0.1:1"),
		run("kafka/token parameter", "kafka", "kafka://127.0.0.1:1?tls=true&token="+qOdd, exitIncomplete, "127.0.0.1:1"),
		run("kafka/token without tls", "kafka", "kafka://127.0.0.1:1?token="+qOdd, exitUsage, "without TLS"),
		run("kafka/bad parameter", "kafka", "kafka://127.0.0.1:1?nosuchparam=1&sasl_password="+pw, exitUsage, "is unknown"),
		run("kafka/unparsable", "kafka", "kafka://u:"+pw+"@[::1", exitUsage, "kafka://xxxxx@[::1"),
		run("kafka/escaped password", "kafka", "kafka://"+oddUI+"@127.0.0.1:1", exitUsage, "without TLS"),

		run("nats/bad host", "nats", "nats://u:"+pw+"@nohost.invalid:4222", exitIncomplete, "nohost.invalid"),
		run("nats/bad port", "nats", "nats://"+oddUI+"@127.0.0.1:1", exitIncomplete, "127.0.0.1:1"),
		run("nats/token", "nats", "nats://"+pw+"@127.0.0.1:1", exitIncomplete, "127.0.0.1:1"),
		run("nats/bad parameter", "nats", "nats://u:"+pw+"@127.0.0.1:1?nosuchparam=1", exitUsage, "nosuchparam"),
		run("nats/no port", "nats", "nats://u:"+pw+"@127.0.0.1", exitUsage, "host:port"),
		run("nats/unparsable", "nats", "nats://u:"+pw+"@[::1", exitUsage, "nats://xxxxx@[::1"),

		run("postgres/bad host", "postgres", "postgres://u:"+pw+"@nohost.invalid:5432/test", exitIncomplete, "nohost.invalid"),
		run("postgres/bad port", "postgres", "postgres://"+oddUI+"@127.0.0.1:1/test", exitIncomplete, "127.0.0.1:1"),
		run("postgres/password parameters", "postgres", "postgres://u@127.0.0.1:1/test?password="+qOdd+"&sslpassword="+pw, exitIncomplete, "127.0.0.1:1"),
		run("postgres/bad parameter", "postgres", "postgres://u:"+pw+"@127.0.0.1:1/test?nosuchparam=1", exitUsage, "nosuchparam"),
		run("postgres/bad libpq value", "postgres", "postgres://u:"+pw+"@127.0.0.1:1/test?sslmode=sometimes&password="+pw, exitUsage, "sslmode"),
		run("postgres/unparsable", "postgres", "postgres://u:"+pw+"@[::1/test", exitUsage, "not a postgres:// URL"),
		run("postgres/keyword=value", "postgres", "host=127.0.0.1 port=1 password='"+pw+"'", exitUsage, "password=xxxxx"),

		run("memory/completes", "memory", "memory://"+oddUI+"@leak", exitOK, "PASS"),
		run("memory/bad parameter", "memory", "memory://u:"+pw+"@x?nosuchparam=1", exitUsage, "unknown parameter"),
		run("memory/unparsable", "memory", "memory://u:"+pw+"@[::1", exitUsage, "memory://xxxxx@[::1"),

		run("faulty/bad parameter", "faulty", "faulty://u:"+pw+"@x?fault=nope", exitUsage, "fault="),
		run("faulty/unparsable", "faulty", "faulty://u:"+pw+"@[::1", exitUsage, "faulty://xxxxx@[::1"),

		run("http/bad port", "http", "http://"+oddUI+"@127.0.0.1:1/streams/{key}", exitIncomplete, "127.0.0.1:1"),
		run("http/bad parameter", "http", "http://u:"+pw+"@127.0.0.1:1/streams/{key}?nosuchparam=1", exitUsage, "nosuchparam"),
		run("http/no key in path", "http", "https://u:"+pw+"@127.0.0.1:1/streams", exitUsage, "{key}"),
		run("http/unparsable", "http", "http://u:"+pw+"@[::1", exitUsage, "http://xxxxx@[::1"),

		run("redis/bad host", "redis", "redis://u:"+pw+"@nohost.invalid:6379", exitIncomplete, "nohost.invalid"),
		run("redis/bad port", "redis", "redis://"+oddUI+"@127.0.0.1:1", exitIncomplete, "127.0.0.1:1"),
		run("redis/bad parameter", "redis", "redis://u:"+pw+"@127.0.0.1:1?nosuchparam=1", exitUsage, "nosuchparam"),
		run("redis/unparsable", "redis", "redis://u:"+pw+"@[::1", exitUsage, "redis://xxxxx@[::1"),

		run("mqtt/bad port", "mqtt", "mqtt://"+oddUI+"@127.0.0.1:1", exitIncomplete, "127.0.0.1:1"),
		run("mqtt/bad parameter", "mqtt", "mqtt://u:"+pw+"@127.0.0.1:1?nosuchparam=1", exitUsage, "nosuchparam"),
		run("mqtt/unparsable", "mqtt", "mqtt://u:"+pw+"@[::1", exitUsage, "mqtt://xxxxx@[::1"),
		run("rabbitmq/bad port", "rabbitmq", "amqp://"+oddUI+"@127.0.0.1:1/?queue=evb-secret", exitIncomplete, "127.0.0.1:1"),
		run("rabbitmq/bad parameter", "rabbitmq", "amqp://u:"+pw+"@127.0.0.1:1/?nosuchparam=1", exitUsage, "nosuchparam"),
		run("rabbitmq/unparsable", "rabbitmq", "amqp://u:"+pw+"@[::1", exitUsage, "amqp://xxxxx@[::1"),

		run("pubsub/credentials in DSN", "pubsub", "pubsub://u:"+pw+"@my-project/evbench", exitUsage, "credentials do not go in the DSN"),
		run("pubsub/bad parameter", "pubsub", "pubsub://my-project/evbench?nosuchparam="+pw, exitUsage, "nosuchparam"),
		run("sqs/credentials in DSN", "sqs", "sqs://AKIA:"+pw+"@us-east-1/evbench.fifo", exitUsage, "credentials do not go in the DSN"),
		run("sqs/bad parameter", "sqs", "sqs://us-east-1/evbench.fifo?nosuchparam="+pw, exitUsage, "nosuchparam"),

		{name: "toxiproxy/unreachable", args: append([]string{"run", "burst", "--set", fault, "--toxiproxy", "http://u:" + pw + "@127.0.0.1:1"}, short...), code: exitIncomplete, want: "toxiproxy server"},
		{name: "toxiproxy/token parameter", args: append([]string{"run", "burst", "--set", fault, "--toxiproxy", "http://127.0.0.1:1/?token=" + qOdd}, short...), code: exitUsage, want: "has a query"},
		{name: "toxiproxy/unparsable", args: append([]string{"run", "burst", "--set", fault, "--toxiproxy", "http://u:" + pw + "@[::1"}, short...), code: exitUsage, want: "http://xxxxx@[::1"},
		{name: "toxiproxy/not http", args: append([]string{"run", "burst", "--set", fault, "--toxiproxy", "ftp://u:" + pw + "@127.0.0.1:1"}, short...), code: exitUsage, want: "not an http URL"},

		{name: "provision/with dsn", args: []string{"run", "burst", "--driver", "postgres", "--provision", "--dsn", "postgres://u:" + pw + "@127.0.0.1:1/test"}, code: exitUsage, want: "exclude each other"},
	}

	for _, name := range drivers.Names() {
		if !slices.ContainsFunc(cases, func(c tc) bool { return strings.HasPrefix(c.name, name+"/") }) {
			t.Errorf("driver %s has no case here: add its failing DSNs", name)
		}
	}

	dir := t.TempDir()
	check := func(t *testing.T, c tc, out string) {
		t.Helper()
		start := time.Now()
		code, stdout, stderr := runCLI(t, append(c.args, "--out", out)...)
		t.Logf("exit %d after %s\nstdout: %s\nstderr: %s", code, time.Since(start).Round(time.Millisecond), stdout, stderr)
		if code != c.code {
			t.Errorf("exit %d, want %d", code, c.code)
		}
		if !strings.Contains(stdout+stderr, c.want) {
			t.Errorf("output lacks %q", c.want)
		}
		texts := map[string]string{"stdout": stdout, "stderr": stderr}
		files, _ := os.ReadDir(out)
		for _, f := range files {
			if f.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(out, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			texts[f.Name()] = string(b)
		}
		if c.code == exitUsage || c.noRun {
			if _, ok := texts["result.json"]; ok {
				t.Error("a usage error must not start a run or write a result")
			}
		} else {
			for _, f := range []string{"result.json", "report.md", "report.html", "junit.xml"} {
				if _, ok := texts[f]; !ok {
					t.Errorf("%s not written", f)
				}
			}
		}
		for name, text := range texts {
			for _, secret := range []string{pw, odd} {
				for _, s := range secretForms(secret) {
					if i := strings.Index(text, s); i >= 0 {
						lo, hi := max(0, i-80), min(len(text), i+len(s)+40)
						t.Errorf("%s holds the password (as %q): ...%s...", name, s, text[lo:hi])
					}
				}
			}
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, c, filepath.Join(dir, strings.ReplaceAll(c.name, "/", "-"))) })
	}

	// A Docker host with credentials: --provision fails at once (nothing
	// listens) and must not print them.
	t.Run("provision/docker host", func(t *testing.T) {
		t.Setenv("DOCKER_HOST", "tcp://u:"+pw+"@127.0.0.1:1")
		c := tc{args: []string{"run", "burst", "--driver", "postgres", "--provision", "-q"}, code: exitIncomplete, want: "no Docker engine", noRun: true}
		check(t, c, filepath.Join(dir, "provision-docker-host"))
	})
	// A wrong password against the real server: the authentication error
	// names the user, never the password.
	t.Run("postgres/authentication fails", func(t *testing.T) {
		drivertest.RequireService(t, "postgres", "127.0.0.1:5432")
		c := run("", "postgres", "postgres://nobody_evbench:"+pw+"@127.0.0.1:5432/test?sslmode=disable", exitIncomplete, "nobody_evbench")
		check(t, c, filepath.Join(dir, "postgres-auth"))
	})
}
