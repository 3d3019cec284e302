package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers/kafka/kafkatest"
)

// TestRunKafkaSCRAMOverTLS (issue 16, managed Kafka): `evbench run burst`
// against a kfake cluster with TLS (a throwaway CA) and SASL/SCRAM-SHA-256
// completes with nothing lost, labels the run's security in result.json,
// and writes the SCRAM password nowhere.
func TestRunKafkaSCRAMOverTLS(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	c := kafkatest.StartSecure(t, pki.ServerTLS)
	dsn := (&url.URL{Scheme: "kafka", User: url.UserPassword(kafkatest.ScramUser, kafkatest.ScramPass),
		Host:     strings.Join(c.ListenAddrs(), ","),
		RawQuery: "sasl=scram-sha-256&partitions=3&ca=" + url.QueryEscape(pki.CAFile)}).String()
	out := t.TempDir()
	// Only the delivery gate: on 2 shared cores a latency gate would make
	// this test about the machine's load, not about TLS and SASL.
	code, stdout, stderr := runCLI(t, "run", "burst", "--driver", "kafka", "--dsn", dsn, "--duration", "2s", "-q",
		"--set", `gates=["delivery.lost == 0"]`, "--out", out)
	t.Logf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	if code != exitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	res, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res), "TLS, SASL SCRAM-SHA-256") {
		t.Errorf("result.json does not label the connection TLS, SASL SCRAM-SHA-256")
	}
	if !strings.Contains(string(res), `"lost": 0`) {
		t.Errorf(`result.json lacks "lost": 0`)
	}
	texts := map[string]string{"stdout": stdout, "stderr": stderr}
	files, _ := os.ReadDir(out)
	for _, f := range files {
		if b, err := os.ReadFile(filepath.Join(out, f.Name())); err == nil {
			texts[f.Name()] = string(b)
		}
	}
	for name, text := range texts {
		for _, s := range secretForms(kafkatest.ScramPass) {
			if strings.Contains(text, s) {
				t.Errorf("%s holds the SCRAM password", name)
			}
		}
	}
}
