package mqtt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers"
)

func TestMosquittoDurabilityLabel(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	inc := filepath.Join(dir, "conf.d")
	os.Mkdir(inc, 0o755)
	os.WriteFile(filepath.Join(inc, "z.conf"), []byte("autosave_interval 60\n"), 0o644)
	on := write("on.conf", "# comment\npersistence true\npersistence_location /var/lib/mosquitto/\ninclude_dir "+inc+"\n")
	off := write("off.conf", "persistence false\nmax_queued_messages 50\n")

	tests := []struct {
		name, version, path string
		verr                error
		ack                 string
		detail              []string
	}{
		{"persistence on, include_dir", "mosquitto version 2.0.11", on, nil, drivers.AckAfterFsyncFalse,
			[]string{"never after an fsync", "persistence true", "/var/lib/mosquitto/mosquitto.db every 60s", "1000 (default)"}},
		{"persistence off", "mosquitto version 2.0.11", off, nil, drivers.AckAfterFsyncFalse,
			[]string{"persistence false", "max_queued_messages 50"}},
		{"config not found", "mosquitto version 2.0.11", "", nil, drivers.AckAfterFsyncFalse, []string{"persistence settings unknown", "broker_config="}},
		{"config unreadable", "mosquitto version 2.0.11", filepath.Join(dir, "missing.conf"), nil, drivers.AckAfterFsyncFalse, []string{"persistence settings unknown", "missing.conf"}},
		{"other broker", "EMQX 5", "", nil, drivers.AckAfterFsyncUnknown, []string{"is not Mosquitto"}},
		{"silent broker", "", "", errors.New("no retained"), drivers.AckAfterFsyncUnknown, []string{"did not identify", "no retained"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mc *mosquittoConf
			var cerr error
			if tc.path != "" {
				mc, cerr = readMosquittoConf(tc.path)
			}
			d := mqttDurability(tc.version, tc.verr, tc.path, mc, cerr)
			if d.AckAfterFsync != tc.ack {
				t.Errorf("AckAfterFsync = %q, want %q (%s)", d.AckAfterFsync, tc.ack, d.Detail)
			}
			for _, w := range tc.detail {
				if !strings.Contains(d.Detail, w) {
					t.Errorf("Detail %q lacks %q", d.Detail, w)
				}
			}
			if d.Source == "" {
				t.Error("empty Source")
			}
		})
	}
}
