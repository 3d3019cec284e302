package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/evbench/evbench/drivers"
)

// externalCallTimeout bounds every call to an external Toxiproxy server, so
// a slow or dead server can neither hang a fault nor Close.
const externalCallTimeout = 3 * time.Second

// external drives a Toxiproxy server through its HTTP API. It speaks the same
// JSON as github.com/Shopify/toxiproxy/v2/client but with a context and a
// timeout on every request: that client uses http.DefaultClient, which has
// none, and Close must stay bounded.
type external struct {
	base string
	hc   *http.Client
}

// CheckToxiproxyURL validates a Toxiproxy API URL (Options.External)
// without contacting it, so the CLI can refuse a bad --toxiproxy as a usage
// error. The error shows the URL redacted (drivers.RedactDSN).
func CheckToxiproxyURL(rawURL string) error {
	_, err := parseToxiproxyURL(rawURL)
	return err
}

func parseToxiproxyURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("chaos: toxiproxy URL %q is not an http URL; write e.g. http://127.0.0.1:8474", drivers.RedactDSN(rawURL))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		// API paths are appended to the base, so a query would end up in
		// the middle of every request URL; the Toxiproxy API takes none.
		return nil, fmt.Errorf("chaos: toxiproxy URL %q has a query or fragment, which the Toxiproxy API does not take; write only scheme, host and port, e.g. http://127.0.0.1:8474", drivers.RedactDSN(rawURL))
	}
	return u, nil
}

// newExternal connects to the Toxiproxy API at rawURL. Its errors, and
// those of every later call (net/http quotes the URL), never hold the
// URL's password: they show it redacted.
func newExternal(ctx context.Context, rawURL string) (*external, error) {
	u, err := parseToxiproxyURL(rawURL)
	if err != nil {
		return nil, err
	}
	b := &external{base: strings.TrimRight(u.String(), "/"), hc: &http.Client{Timeout: externalCallTimeout}}
	if err := b.do(ctx, http.MethodGet, "/version", nil, http.StatusOK, nil); err != nil {
		return nil, fmt.Errorf("chaos: toxiproxy server %s unreachable (%s); start it or drop --toxiproxy to run it in-process",
			drivers.RedactDSN(b.base), drivers.Scrub(err.Error(), b.base))
	}
	return b, nil
}

// do sends one request and decodes the answer into out when non-nil.
func (b *external) do(ctx context.Context, method, path string, in any, want int, out any) error {
	ctx, cancel := context.WithTimeout(ctx, externalCallTimeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		buf, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, body)
	if err != nil {
		return drivers.ScrubError(err, b.base)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// The API refuses browser user agents; say who we are.
	req.Header.Set("User-Agent", "evbench-chaos")
	resp, err := b.hc.Do(req)
	if err != nil {
		return drivers.ScrubError(err, b.base) // net/http masks a password as ***, but not a token parameter
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

type extProxy struct {
	Name     string `json:"name"`
	Listen   string `json:"listen"`
	Upstream string `json:"upstream"`
	Enabled  bool   `json:"enabled"`
}

func (b *external) create(ctx context.Context, name, listen, upstream string) (string, error) {
	var out extProxy
	in := extProxy{Name: name, Listen: listen, Upstream: upstream, Enabled: true}
	if err := b.do(ctx, http.MethodPost, "/proxies", in, http.StatusCreated, &out); err != nil {
		return "", fmt.Errorf("create proxy %s -> %s: %w", name, upstream, err)
	}
	return out.Listen, nil
}

func (b *external) addToxic(ctx context.Context, proxy string, t toxicSpec) error {
	if err := b.do(ctx, http.MethodPost, "/proxies/"+url.PathEscape(proxy)+"/toxics", t, http.StatusOK, nil); err != nil {
		return fmt.Errorf("add toxic %s to %s: %w", t.Name, proxy, err)
	}
	return nil
}

func (b *external) removeToxic(ctx context.Context, proxy, toxic string) error {
	p := "/proxies/" + url.PathEscape(proxy) + "/toxics/" + url.PathEscape(toxic)
	if err := b.do(ctx, http.MethodDelete, p, nil, http.StatusNoContent, nil); err != nil {
		return fmt.Errorf("remove toxic %s from %s: %w", toxic, proxy, err)
	}
	return nil
}

func (b *external) setEnabled(ctx context.Context, proxy string, on bool) error {
	in := map[string]any{"enabled": on}
	if err := b.do(ctx, http.MethodPost, "/proxies/"+url.PathEscape(proxy), in, http.StatusOK, nil); err != nil {
		return fmt.Errorf("set proxy %s enabled=%v: %w", proxy, on, err)
	}
	return nil
}

func (b *external) remove(ctx context.Context, proxy string) error {
	if err := b.do(ctx, http.MethodDelete, "/proxies/"+url.PathEscape(proxy), nil, http.StatusNoContent, nil); err != nil {
		return fmt.Errorf("delete proxy %s: %w", proxy, err)
	}
	return nil
}

// proxies lists every proxy name on the server (ours and others').
func (b *external) proxies(ctx context.Context) ([]string, error) {
	var out map[string]json.RawMessage
	if err := b.do(ctx, http.MethodGet, "/proxies", nil, http.StatusOK, &out); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	return names, nil
}

func (b *external) close() { b.hc.CloseIdleConnections() }
