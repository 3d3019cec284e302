package mqtt

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/evbench/evbench/drivers"
)

// versionTimeout bounds the wait for the broker's retained
// $SYS/broker/version message (Mosquitto publishes it; others may not).
const versionTimeout = time.Second

// Durability reports what a PUBACK means on the connected broker. The
// broker is identified by $SYS/broker/version; Mosquitto's persistence
// settings are read from its configuration file when it can be found
// (broker_config=, or the config of a local mosquitto process). Mosquitto
// never fsyncs before a PUBACK, whatever its settings, so the label is
// false for it; an unidentified broker is unknown.
func (d *Driver) Durability(ctx context.Context) (drivers.Durability, error) {
	if d.isClosed() {
		return drivers.Durability{}, errClosed
	}
	version, verr := d.brokerVersion(ctx)
	path := d.cfg.BrokerConfig
	if path == "" && isLoopback(d.cfg.Addr) {
		path = localMosquittoConfig()
	}
	var mc *mosquittoConf
	var cerr error
	if path != "" {
		mc, cerr = readMosquittoConf(path)
	}
	return mqttDurability(version, verr, path, mc, cerr), nil
}

// brokerVersion reads the retained $SYS/broker/version message on a
// short-lived connection.
func (d *Driver) brokerVersion(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, versionTimeout+connectTimeout)
	defer cancel()
	got := make(chan string, 1)
	c, err := connect(ctx, d.cfg, connOptions{dial: d.opts.Dialer(), role: "durability",
		onPub: func(pr paho.PublishReceived) (bool, error) {
			select {
			case got <- string(pr.Packet.Payload):
			default:
			}
			return true, nil
		}})
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Disconnect(&paho.Disconnect{}) }()
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "$SYS/broker/version", QoS: 0}}}); err != nil {
		return "", fmt.Errorf("subscribe $SYS/broker/version: %w", err)
	}
	select {
	case v := <-got:
		return v, nil
	case <-time.After(versionTimeout):
		return "", fmt.Errorf("no retained $SYS/broker/version within %s", versionTimeout)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// mosquittoConf is what of a Mosquitto configuration decides durability.
type mosquittoConf struct {
	files             []string // read, in order (includes after the main file)
	persistence       bool
	location          string
	autosaveInterval  int // seconds; 0 = only on shutdown (or on changes)
	autosaveOnChanges bool
	maxQueued         string // max_queued_messages as written, "" = default 1000
}

// readMosquittoConf reads path and the *.conf files of its include_dir
// directives (alphabetical, as Mosquitto does). Later settings win.
func readMosquittoConf(path string) (*mosquittoConf, error) {
	mc := &mosquittoConf{autosaveInterval: 1800}
	var includes []string
	if err := mc.readFile(path, &includes); err != nil {
		return nil, err
	}
	for _, dir := range includes {
		files, _ := filepath.Glob(filepath.Join(dir, "*.conf"))
		sort.Strings(files)
		for _, f := range files {
			if err := mc.readFile(f, nil); err != nil {
				return nil, err
			}
		}
	}
	return mc, nil
}

func (mc *mosquittoConf) readFile(path string, includes *[]string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read broker config: %w", err)
	}
	mc.files = append(mc.files, path)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		v := f[1]
		switch f[0] {
		case "persistence":
			mc.persistence = v == "true"
		case "persistence_location":
			mc.location = v
		case "autosave_interval":
			if n, err := strconv.Atoi(v); err == nil {
				mc.autosaveInterval = n
			}
		case "autosave_on_changes":
			mc.autosaveOnChanges = v == "true"
		case "max_queued_messages":
			mc.maxQueued = v
		case "include_dir":
			if includes != nil {
				*includes = append(*includes, v)
			}
		}
	}
	return sc.Err()
}

// mqttDurability decides the label. What a Mosquitto PUBACK means does not
// depend on its settings: the broker answers once the message is in its
// memory and queued to the matching subscriptions; persistence only
// decides whether that memory is saved to disk now and then.
func mqttDurability(version string, verr error, path string, mc *mosquittoConf, cerr error) drivers.Durability {
	d := drivers.Durability{AckAfterFsync: drivers.AckAfterFsyncUnknown}
	noSub := "a PUBACK does not mean any subscriber has the message: one that no subscription matches is discarded"
	if !strings.HasPrefix(strings.ToLower(version), "mosquitto") {
		why := "broker did not identify itself on $SYS/broker/version"
		if verr == nil {
			why = "broker " + strconv.Quote(version) + " is not Mosquitto"
		} else {
			why += " (" + verr.Error() + ")"
		}
		d.Detail = why + ": what its PUBACK means is unknown; " + noSub
		d.Source = "$SYS/broker/version"
		return d
	}
	d.AckAfterFsync = drivers.AckAfterFsyncFalse
	d.Replication = "none (single broker)"
	d.Source = "$SYS/broker/version"
	base := version + ": PUBACK once the message is in the broker's memory, never after an fsync; " + noSub
	switch {
	case mc == nil && path == "":
		d.Detail = base + "; persistence settings unknown (broker config not found: set broker_config= to read them)"
	case mc == nil:
		d.Detail = base + fmt.Sprintf("; persistence settings unknown (%v)", cerr)
	case !mc.persistence:
		d.Detail = base + "; persistence false: nothing is written to disk, a broker restart loses every queued message"
		d.Source += ", " + strings.Join(mc.files, ", ")
	default:
		save := fmt.Sprintf("every %ds", mc.autosaveInterval)
		if mc.autosaveOnChanges {
			save = fmt.Sprintf("after every %d changes", mc.autosaveInterval)
		} else if mc.autosaveInterval == 0 {
			save = "only at shutdown"
		}
		d.Detail = base + fmt.Sprintf("; persistence true: the in-memory database is saved to %smosquitto.db %s and at shutdown, so a crash loses what came since the last save",
			mc.location, save)
		d.Source += ", " + strings.Join(mc.files, ", ")
	}
	if mc != nil {
		q := mc.maxQueued
		if q == "" {
			q = "1000 (default)"
		}
		d.Detail += "; max_queued_messages " + q + ": a subscriber further behind loses messages"
	}
	return d
}

// isLoopback reports whether addr's host is this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// localMosquittoConfig finds the -c argument of a mosquitto process on this
// machine ("" when there is none or /proc is not readable).
func localMosquittoConfig() string {
	dirs, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, comm := range dirs {
		b, err := os.ReadFile(comm)
		if err != nil || strings.TrimSpace(string(b)) != "mosquitto" {
			continue
		}
		cl, err := os.ReadFile(filepath.Join(filepath.Dir(comm), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cl), "\x00"), "\x00")
		for i, a := range args {
			if (a == "-c" || a == "--config-file") && i+1 < len(args) {
				return args[i+1]
			}
		}
	}
	return ""
}
