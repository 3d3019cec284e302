package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// silenceOnce disables zerolog globally: the bandwidth toxic logs through the
// global logger regardless of the server's logger (NOTES.md).
var silenceOnce sync.Once

// inproc runs Toxiproxy as a library inside this process.
type inproc struct {
	srv *toxiproxy.ApiServer
}

func newInproc() *inproc {
	silenceOnce.Do(func() { zerolog.SetGlobalLevel(zerolog.Disabled) })
	// A nil metrics container makes a proxy goroutine panic later: always
	// pass a real (disabled) one.
	return &inproc{srv: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())}
}

func (b *inproc) create(_ context.Context, name, listen, upstream string) (string, error) {
	p := toxiproxy.NewProxy(b.srv, name, listen, upstream)
	if err := b.srv.Collection.Add(p, true); err != nil {
		return "", fmt.Errorf("start proxy %s -> %s: %w", name, upstream, err)
	}
	p.Lock()
	addr := p.Listen
	p.Unlock()
	return addr, nil
}

func (b *inproc) get(name string) (*toxiproxy.Proxy, error) {
	p, err := b.srv.Collection.Get(name)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", name, err)
	}
	return p, nil
}

func (b *inproc) addToxic(_ context.Context, proxy string, t toxicSpec) error {
	p, err := b.get(proxy)
	if err != nil {
		return err
	}
	body, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode toxic %s: %w", t.Name, err)
	}
	if _, err := p.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
		return fmt.Errorf("add toxic %s to %s: %w", t.Name, proxy, err)
	}
	return nil
}

func (b *inproc) removeToxic(ctx context.Context, proxy, toxic string) error {
	p, err := b.get(proxy)
	if err != nil {
		return err
	}
	if err := p.Toxics.RemoveToxic(ctx, toxic); err != nil {
		return fmt.Errorf("remove toxic %s from %s: %w", toxic, proxy, err)
	}
	return nil
}

func (b *inproc) setEnabled(_ context.Context, proxy string, on bool) error {
	p, err := b.get(proxy)
	if err != nil {
		return err
	}
	if !on {
		p.Stop()
		return nil
	}
	if err := p.Start(); err != nil && err != toxiproxy.ErrProxyAlreadyStarted {
		return fmt.Errorf("restart proxy %s on %s: %w", proxy, p.Listen, err)
	}
	return nil
}

func (b *inproc) remove(_ context.Context, proxy string) error {
	if err := b.srv.Collection.Remove(proxy); err != nil {
		return fmt.Errorf("remove proxy %s: %w", proxy, err)
	}
	return nil
}

func (b *inproc) close() {}
