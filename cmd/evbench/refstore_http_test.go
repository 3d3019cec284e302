package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/server"
)

func TestRefstoreServeHTTPFlag(t *testing.T) {
	code, _, stderr := runCLI(t, "refstore", "serve", "--dir", t.TempDir(), "--addr", "127.0.0.1:0", "--http", "8080")
	if code != 2 || !strings.Contains(stderr, `--http "8080": want host:port`) {
		t.Fatalf("--http 8080: exit %d, stderr %q; want 2 naming the flag", code, stderr)
	}
}

// TestRefstoreServeHTTP: `refstore serve --http` prints where its front
// listens, /info carries the server's sync mode, a command lands in the
// same log (head 1), and shutdown is clean.
func TestRefstoreServeHTTP(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- serveRefstoreHTTPTo(ctx, t.TempDir(), "127.0.0.1:0", "127.0.0.1:0", engine.Options{Sync: engine.SyncAlways}, server.Config{}, pw)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	base := ""
	for base == "" && lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), HTTPReadyPrefix); ok {
			base = "http://" + strings.Fields(rest)[0]
		}
	}
	if base == "" {
		t.Fatal("no readiness line for the http front")
	}
	go io.Copy(io.Discard, pr)

	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	var info struct {
		AckAfterFsync string `json:"ack_after_fsync"`
	}
	get("/info", &info)
	if info.AckAfterFsync != "true" {
		t.Fatalf("/info ack_after_fsync = %q, want true (sync=always)", info.AckAfterFsync)
	}
	body := `{"id":"00000000000000000000000000000001","key":"a","seq":1,"type":"T","payload":{},"created_at":1}`
	resp, err := http.Post(base+"/streams/a", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("command: status %d", resp.StatusCode)
	}
	var head struct {
		Head int64 `json:"head"`
	}
	get("/head", &head)
	if head.Head != 1 {
		t.Fatalf("head after one command = %d, want 1", head.Head)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop within 5s of cancel")
	}
}
