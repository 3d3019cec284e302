// Package httpdriver benchmarks a whole application or an API gateway (such
// as Zilla) through a small JSON contract: commands are HTTP POSTs of event
// JSON to a URL template, queries are a server-sent-events stream or a
// polling GET. The contract is in contract.go and docs/drivers.md ("HTTP/SSE:
// your own CQRS front"); `evbench refstore serve --http ADDR` offers it on
// refstore (drivers/http/httpserver).
package httpdriver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/keyroute"
)

func init() {
	drivers.Register(drivers.Registration{
		Name:            "http",
		Description:     "your own CQRS front or gateway: commands as HTTP POSTs, queries as SSE or polling (JSON contract in docs/drivers.md)",
		DSNExample:      "http://127.0.0.1:8080/streams/{key}",
		Open:            Open,
		CheckDSN:        func(dsn string) error { _, err := parseDSN(dsn); return err },
		ExpectedVersion: true, // when the server's /info says so; otherwise the run is refused at start (see Open)
	})
}

// Driver is an HTTP client for one front. Commands go through lanes: a
// key always uses the same lane, a lane sends one request at a time, so a
// key's commands reach the server in order while max_inflight requests of
// different keys are in flight.
type Driver struct {
	cfg     config
	opts    drivers.Options
	client  *http.Client
	info    Info
	hasInfo bool
	route   *keyroute.Router
	lanes   []chan job
	wg      sync.WaitGroup
	closed  atomic.Bool
	// gate orders enqueue against Close: a job is on a lane before the
	// lanes stop (and drain, failing it), or refused.
	gate sync.RWMutex
	stop chan struct{}
	once sync.Once
}

// job is one queued command with its completion.
type job struct {
	ctx      context.Context
	batch    []drivers.Event
	expected int64 // -1: any version
	done     func([]drivers.Position, error)
}

// Open validates dsn, reads the server's /info (a 404 means it promises
// nothing) and starts max_inflight lanes. It returns a driver that
// implements drivers.ExpectedAppender only when /info says
// "expected_version": true, so a scenario needing it fails before load on
// a front that would ignore the header.
func Open(ctx context.Context, dsn string, opts drivers.Options) (drivers.Driver, error) {
	cfg, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	d := newDriver(cfg, opts)
	if err := d.readInfo(ctx); err != nil {
		d.Close()
		return nil, err
	}
	if d.cfg.batchPath != "" && d.cfg.coalesce > 1 {
		opts.Log("http: batch path %s: a lane that falls behind sends up to %d queued commands per request (coalesce=1: one command per request)", d.cfg.batchPath, d.cfg.coalesce)
	}
	if d.info.ExpectedVersion {
		return &expectedDriver{d}, nil
	}
	return d, nil
}

func newDriver(cfg config, opts drivers.Options) *Driver {
	dial := opts.Dialer()
	tr := &http.Transport{
		// Every connection, plain or TLS (system roots), goes through the
		// harness's dial hook, so chaos proxies see all traffic.
		DialContext:         func(ctx context.Context, network, addr string) (net.Conn, error) { return dial(ctx, network, addr) },
		MaxIdleConnsPerHost: cfg.maxInflight + 4, // the lanes' keep-alive connections, plus head/info/polls
		IdleConnTimeout:     0,
		TLSHandshakeTimeout: cfg.timeout,
	}
	if cfg.proto == "h2" {
		// One multiplexed connection instead of one per lane: far fewer
		// syscalls per command. h2c needs a server that speaks it.
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetHTTP2(true)
		tr.Protocols.SetUnencryptedHTTP2(true)
		tr.ForceAttemptHTTP2 = true
	}
	d := &Driver{cfg: cfg, opts: opts, client: &http.Client{Transport: tr}, route: keyroute.New(cfg.maxInflight), stop: make(chan struct{})}
	for i := 0; i < cfg.maxInflight; i++ {
		ch := make(chan job, 256)
		d.lanes = append(d.lanes, ch)
		d.wg.Add(1)
		go d.lane(ch)
	}
	return d
}

// readInfo fetches /info; a 404 (or info=none) leaves every promise off.
func (d *Driver) readInfo(ctx context.Context) error {
	if !d.cfg.batchSet {
		d.cfg.batchPath = ""
	}
	if d.cfg.infoPath == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.timeout)
	defer cancel()
	body, status, err := d.do(ctx, http.MethodGet, d.cfg.origin+d.cfg.infoPath, nil, nil)
	if err != nil {
		return fmt.Errorf("http: GET %s: %w", d.cfg.infoPath, err)
	}
	switch {
	case status == http.StatusNotFound:
		return nil
	case status/100 != 2:
		return fmt.Errorf("http: GET %s: status %d: %s", d.cfg.infoPath, status, snippet(body))
	}
	if err := json.Unmarshal(body, &d.info); err != nil {
		return fmt.Errorf("http: GET %s: body is not the contract's info JSON: %v", d.cfg.infoPath, err)
	}
	d.hasInfo = true
	if !d.cfg.batchSet {
		d.cfg.batchPath = d.info.BatchPath
	}
	return nil
}

// do sends one request and reads the whole answer.
func (d *Driver) do(ctx context.Context, method, url string, body []byte, hdr http.Header) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, 0, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	d.auth(req)
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("read answer: %w", err)
	}
	return b, resp.StatusCode, nil
}

func (d *Driver) auth(req *http.Request) {
	if d.cfg.hasAuth {
		req.SetBasicAuth(d.cfg.user, d.cfg.pass)
	}
}

// snippet is the start of an error body, for messages.
func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		b = append(b[:200:200], "..."...)
	}
	return string(b)
}

var errClosed = errors.New("http: driver closed")

// AppendAsync queues the batch on its key's lane; done is called once,
// from the lane, when the server answered, the request failed or ctx ended.
func (d *Driver) AppendAsync(ctx context.Context, batch []drivers.Event, done func([]drivers.Position, error)) {
	d.enqueue(job{ctx: ctx, batch: batch, expected: -1, done: done})
}

func (d *Driver) enqueue(j job) {
	if len(j.batch) == 0 {
		j.done(nil, nil)
		return
	}
	if err := j.ctx.Err(); err != nil {
		j.done(nil, err)
		return
	}
	d.gate.RLock()
	defer d.gate.RUnlock()
	if d.closed.Load() {
		j.done(nil, errClosed)
		return
	}
	i, spans := d.route.Pick(j.batch)
	d.route.Acquire(spans)
	done := j.done
	j.done = func(p []drivers.Position, err error) { d.route.Release(spans); done(p, err) }
	select {
	case d.lanes[i] <- j:
	case <-j.ctx.Done():
		j.done(nil, j.ctx.Err())
	}
}

// lane sends its jobs one at a time, in order. With coalesce > 1 (and a
// batch path) it sends the jobs already waiting on the lane, up to
// coalesce events, as one batch request: the same order, fewer requests
// when the front falls behind; an idle lane still sends one command per
// request.
func (d *Driver) lane(ch chan job) {
	defer d.wg.Done()
	var carry *job
	for {
		var j job
		if carry != nil {
			j, carry = *carry, nil
		} else {
			select {
			case j = <-ch:
			case <-d.stop:
				for {
					select {
					case j := <-ch:
						j.done(nil, errClosed)
					default:
						return
					}
				}
			}
		}
		if d.cfg.coalesce <= 1 || d.cfg.batchPath == "" || j.expected >= 0 || len(j.batch) >= d.cfg.coalesce {
			j.done(d.send(j))
			continue
		}
		group, n := []job{j}, len(j.batch)
	gather:
		for n < d.cfg.coalesce {
			select {
			case next := <-ch:
				if next.expected >= 0 || n+len(next.batch) > d.cfg.coalesce {
					carry = &next
					break gather
				}
				group, n = append(group, next), n+len(next.batch)
			default:
				break gather
			}
		}
		if len(group) == 1 {
			j.done(d.send(j))
			continue
		}
		d.sendGroup(group, n)
	}
}

// sendGroup posts several jobs as one batch request and answers each with
// its share of the positions (or the request's error). Jobs whose ctx
// already ended are answered with it and left out; the request itself is
// bounded by timeout only.
func (d *Driver) sendGroup(group []job, n int) {
	live := group[:0]
	all := make([]drivers.Event, 0, n)
	for _, j := range group {
		if err := j.ctx.Err(); err != nil {
			j.done(nil, err)
			continue
		}
		live = append(live, j)
		all = append(all, j.batch...)
	}
	if len(live) == 0 {
		return
	}
	pos, err := d.post(context.Background(), d.cfg.origin+d.cfg.batchPath, EncodeBatch(nil, all, nil), all[0].Key, -1, len(all))
	for _, j := range live {
		if err != nil {
			j.done(nil, err)
			continue
		}
		j.done(pos[:len(j.batch):len(j.batch)], nil)
		pos = pos[len(j.batch):]
	}
}

// send posts a job: one batch request when the server has a batch path
// and the batch holds more than one event, else one request per event in
// order (stopping at the first failure: the rest are not sent).
func (d *Driver) send(j job) ([]drivers.Position, error) {
	if err := j.ctx.Err(); err != nil {
		return nil, err
	}
	if len(j.batch) > 1 && d.cfg.batchPath != "" {
		body := EncodeBatch(nil, j.batch, nil)
		return d.post(j.ctx, d.cfg.origin+d.cfg.batchPath, body, j.batch[0].Key, j.expected, len(j.batch))
	}
	out := make([]drivers.Position, 0, len(j.batch))
	var buf []byte
	for i := range j.batch {
		buf = AppendEventJSON(buf[:0], &j.batch[i], -1)
		exp := j.expected
		if exp >= 0 {
			exp += int64(i)
		}
		pos, err := d.post(j.ctx, d.cfg.streamURL(j.batch[i].Key), buf, j.batch[i].Key, exp, 1)
		if err != nil {
			if i > 0 {
				return nil, fmt.Errorf("%w (the first %d of %d events of the batch were committed: one request per event)", err, i, len(j.batch))
			}
			return nil, err
		}
		out = append(out, pos...)
	}
	return out, nil
}

// post sends one command request and interprets the answer: 2xx
// committed, 409 a conflict (typed when a version was expected), anything
// else failed.
func (d *Driver) post(ctx context.Context, url string, body []byte, key string, expected int64, n int) ([]drivers.Position, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.timeout)
	defer cancel()
	var hdr http.Header
	if expected >= 0 {
		hdr = http.Header{HeaderExpectedVersion: {strconv.FormatInt(expected, 10)}}
	}
	b, status, err := d.do(ctx, http.MethodPost, url, body, hdr)
	if err != nil {
		return nil, fmt.Errorf("http: POST %s: %w", key, err)
	}
	switch {
	case status/100 == 2:
		return positions(b, n)
	case status == http.StatusConflict && expected >= 0:
		var er ErrorResponse
		_ = json.Unmarshal(b, &er)
		ce := &drivers.ConflictError{Stream: key, Expected: uint64(expected)}
		if er.Actual != nil {
			ce.Actual, ce.ActualKnown = *er.Actual, true
		}
		return nil, ce
	default:
		return nil, fmt.Errorf("http: POST stream %q: status %d: %s", key, status, snippet(b))
	}
}

// positions reads a 2xx answer's positions; none given means unknown (-1).
func positions(b []byte, n int) ([]drivers.Position, error) {
	out := make([]drivers.Position, n)
	for i := range out {
		out[i].Offset = -1
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return out, nil
	}
	var r AppendResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return out, nil // committed: a body that is not the contract's does not undo that
	}
	switch {
	case len(r.Positions) == n:
		for i, p := range r.Positions {
			out[i].Offset = p
		}
	case r.Position != nil && n == 1:
		out[0].Offset = *r.Position
	case len(r.Positions) > 0:
		return nil, fmt.Errorf("http: server answered %d positions for %d events", len(r.Positions), n)
	}
	return out, nil
}

// Append sends the batch through its lane and waits for the answer.
func (d *Driver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	return drivers.AppendAndWait(ctx, d, batch)
}

// Head is GET head: {"head": N}, the next position of the single log.
func (d *Driver) Head(ctx context.Context) (drivers.Cursor, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.timeout)
	defer cancel()
	b, status, err := d.do(ctx, http.MethodGet, d.cfg.origin+d.cfg.headPath, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("http: GET %s: %w", d.cfg.headPath, err)
	}
	if status/100 != 2 {
		return nil, fmt.Errorf("http: GET %s: status %d: %s", d.cfg.headPath, status, snippet(b))
	}
	var h HeadResponse
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("http: GET %s: want {\"head\": N}: %v", d.cfg.headPath, err)
	}
	return drivers.Cursor{0: h.Head}, nil
}

// BatchAtomic is true only with a batch path: the contract makes a batch
// request all-or-nothing; one request per event lands in part.
func (d *Driver) BatchAtomic() bool { return d.cfg.batchPath != "" }

// DeduplicatesByID is what the server's /info says (dedupe_by_id).
func (d *Driver) DeduplicatesByID() bool { return d.info.DedupeByID }

// Durability is what /info says; without it, unknown.
func (d *Driver) Durability(ctx context.Context) (drivers.Durability, error) {
	if !d.hasInfo || d.info.AckAfterFsync == "" {
		return drivers.Durability{
			AckAfterFsync: drivers.AckAfterFsyncUnknown,
			Detail:        "the front publishes no ack_after_fsync (GET " + d.cfg.infoPath + "): a 2xx means whatever the application behind it decided",
			Source:        "none (no /info)",
		}, nil
	}
	dur := drivers.Durability{AckAfterFsync: d.info.AckAfterFsync, Replication: d.info.Replication,
		Detail: d.info.Detail, Source: "GET " + d.cfg.infoPath}
	switch dur.AckAfterFsync {
	case drivers.AckAfterFsyncTrue, drivers.AckAfterFsyncFalse, drivers.AckAfterFsyncUnknown:
	default:
		dur.Detail = fmt.Sprintf("server said ack_after_fsync=%q (want true, false or unknown); %s", dur.AckAfterFsync, dur.Detail)
		dur.AckAfterFsync = drivers.AckAfterFsyncUnknown
	}
	if dur.Detail == "" {
		dur.Detail = "as declared by the front's " + d.cfg.infoPath
	}
	return dur, nil
}

// Close stops the lanes (queued commands fail) and idle connections.
// Idempotent.
func (d *Driver) Close() error {
	d.once.Do(func() {
		d.gate.Lock()
		d.closed.Store(true)
		d.gate.Unlock()
		close(d.stop)
		d.wg.Wait()
		d.client.CloseIdleConnections()
	})
	return nil
}

var (
	_ drivers.AsyncAppender      = (*Driver)(nil)
	_ drivers.BatchAtomicity     = (*Driver)(nil)
	_ drivers.Deduplicator       = (*Driver)(nil)
	_ drivers.DurabilityReporter = (*Driver)(nil)
)
