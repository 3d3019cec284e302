package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/evbench/evbench/drivers"
)

// defaultSyncInterval is nats-server's background fsync period when
// sync_interval is not configured (2.10 and later).
const defaultSyncInterval = 2 * time.Minute

// jszTimeout bounds the request for the server's JetStream settings: an
// account without access gets "no responders" at once.
const jszTimeout = time.Second

// unknownSyncDetail is why a remote server's label is unknown.
const unknownSyncDetail = "nats-server does not show its sync settings to a client: INFO and $JS.API.INFO carry no sync_interval or sync_always, " +
	"and $SYS.REQ.SERVER.<id>.JSZ (which does) answers only the system account, unless the server exports it to this account; " +
	"by default nats-server acks a publish before fsync (the file store fsyncs in the background, every 2m), so this label does not claim true " +
	"(sync_interval: always makes every PubAck follow an fsync)"

// Durability reports what a PubAck means on the connected server: the
// stream's storage and replicas (stream info), and the server's sync
// settings when it shows them ($SYS.REQ.SERVER.<id>.JSZ, system account
// only). Memory storage is never durable; file storage without visible
// sync settings is unknown, never true.
func (d *Driver) Durability(ctx context.Context) (drivers.Durability, error) {
	if d.isClosed() {
		return drivers.Durability{}, errClosed
	}
	s, err := d.js.Stream(ctx, d.cfg.Stream)
	if err != nil {
		return drivers.Durability{}, fmt.Errorf("nats: durability: stream %s: %w", d.cfg.Stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return drivers.Durability{}, fmt.Errorf("nats: durability: stream %s info: %w", d.cfg.Stream, err)
	}
	version := d.nc.ConnectedServerVersion()
	jsc, jszErr := d.serverJetStreamConfig(ctx)
	return natsDurability(version, info.Config, jsc, jszErr, d.nc.ConnectedServerId()), nil
}

// serverJetStreamConfig asks the connected server for its JetStream
// configuration, which only the system account (or an account importing
// the JSZ service) may read.
func (d *Driver) serverJetStreamConfig(ctx context.Context) (*server.JetStreamConfig, error) {
	rctx, cancel := context.WithTimeout(ctx, jszTimeout)
	defer cancel()
	m, err := d.nc.RequestWithContext(rctx, "$SYS.REQ.SERVER."+d.nc.ConnectedServerId()+".JSZ", nil)
	if err != nil {
		return nil, err
	}
	return parseJSZ(m.Data)
}

// parseJSZ reads the configuration out of a JSZ answer
// ({"server":{...},"data":{"config":{...}},"error":{...}}).
func parseJSZ(b []byte) (*server.JetStreamConfig, error) {
	var r struct {
		Data *struct {
			Config *server.JetStreamConfig `json:"config"`
		} `json:"data"`
		Error *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("JSZ answer: %w", err)
	}
	if r.Error != nil {
		return nil, fmt.Errorf("JSZ answer: error %d: %s", r.Error.Code, r.Error.Description)
	}
	if r.Data == nil || r.Data.Config == nil {
		return nil, errors.New("JSZ answer carries no JetStream config")
	}
	return r.Data.Config, nil
}

// natsDurability decides the label from the stream's configuration and,
// when the server showed it (jsc != nil), its JetStream configuration.
func natsDurability(version string, sc jetstream.StreamConfig, jsc *server.JetStreamConfig, jszErr error, serverID string) drivers.Durability {
	d := drivers.Durability{Replication: replication(sc.Replicas)}
	where := fmt.Sprintf("nats-server %s, stream %s: %s storage, replicas=%d", version, sc.Name, storageName(sc.Storage), sc.Replicas)
	switch {
	case sc.Storage == jetstream.MemoryStorage:
		d.AckAfterFsync = drivers.AckAfterFsyncFalse
		d.Detail = where + ": memory storage is never written to disk"
		d.Source = "stream info (storage)"
	case jsc != nil:
		d.AckAfterFsync, d.Detail = syncLabel(jsc.SyncAlways, jsc.SyncInterval)
		d.Detail = where + "; " + d.Detail
		d.Source = "$SYS.REQ.SERVER." + serverID + ".JSZ (server JetStream config), stream info"
	default:
		d.AckAfterFsync = drivers.AckAfterFsyncUnknown
		d.Detail = where + "; " + unknownSyncDetail
		d.Source = "server INFO, $JS.API.INFO and stream info (no sync settings in them)"
		if jszErr != nil && !errors.Is(jszErr, nats.ErrNoResponders) {
			d.Source += fmt.Sprintf("; JSZ request: %v", jszErr)
		}
	}
	return d
}

// syncLabel is the label of a file store with these sync settings.
func syncLabel(always bool, interval time.Duration) (string, string) {
	if always {
		return drivers.AckAfterFsyncTrue, "sync_always: every PubAck follows an fsync"
	}
	shown := "sync_interval " + shortDuration(interval)
	if interval <= 0 {
		interval, shown = defaultSyncInterval, "default sync_interval (2m)"
	}
	return drivers.AckAfterFsyncFalse, fmt.Sprintf("%s: PubAck after the write to the file store, fsync in the background every %s", shown, shortDuration(interval))
}

// shortDuration is d without zero units: 2m, not 2m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func storageName(s jetstream.StorageType) string {
	if s == jetstream.MemoryStorage {
		return "memory"
	}
	return "file"
}

func replication(n int) string {
	if n <= 1 {
		return "none (single copy)"
	}
	return fmt.Sprintf("R%d: PubAck after a quorum (%d of %d) stored the message", n, n/2+1, n)
}

// Durability of the embedded server is its own configuration (evbench
// started it, see Embed).
func (e *EmbeddedServer) Durability(ctx context.Context) (drivers.Durability, error) {
	always, interval := e.syncAlways, time.Duration(0)
	if jsc := e.s.JetStreamConfig(); jsc != nil {
		always, interval = jsc.SyncAlways, jsc.SyncInterval
	}
	ack, detail := syncLabel(always, interval)
	return drivers.Durability{
		AckAfterFsync: ack,
		Replication:   replication(1),
		Detail:        "nats-server " + server.VERSION + " embedded, JetStream file storage, " + detail,
		Source:        "embedded server configuration",
	}, nil
}

var (
	_ drivers.DurabilityReporter = (*Driver)(nil)
	_ drivers.DurabilityReporter = (*EmbeddedServer)(nil)
)
