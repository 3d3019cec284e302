package scenarios

import (
	"strings"
	"testing"
	"time"
)

func TestOutboxValidation(t *testing.T) {
	cases := []struct {
		section, want string
	}{
		{"outbox: {dsn: postgres://127.0.0.1:5432/test}", ""},
		{"outbox: {relays: 2}", "outbox.dsn: missing: the outbox needs a Postgres database"},
		{"outbox: {dsn: nats://127.0.0.1:4222}", "outbox.dsn: is not a postgres:// URL"},
		{"outbox: {dsn: postgres://x/y, relays: 65}", "outbox.relays: 65 is outside 1..64"},
		{"outbox: {dsn: postgres://x/y, batch: -1}", "outbox.batch: -1 is outside"},
		{"outbox: {dsn: postgres://x/y, interval: -1ms}", "outbox.interval: -1ms is negative"},
		{"outbox: {dsn: postgres://x/y, prefix: Bad-Name}", `outbox.prefix: "Bad-Name" must be lower-case`},
		{"outbox: {dsn: postgres://x/y, relay_crashes: [{at: 200s, for: 1s}]}", "outbox.relay_crashes[0].at: 3m20s is outside the run"},
		{"outbox: {dsn: postgres://x/y, relays: 2, relay_crashes: [{at: 5s, for: 1s, relay: 2}]}", "relay: 2 is not a relay of outbox.relays=2"},
		{"outbox: {dsn: postgres://x/y, relais: 2}", `outbox.relais: unknown field "relais" in outbox`},
	}
	for _, c := range cases {
		err := parseAndValidate("campaign.yaml", base+c.section+"\n")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.section, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.section, err, c.want)
		case err != nil && strings.Count(err.Error(), "\n") > 0:
			t.Errorf("%s: more than one line: %v", c.section, err)
		}
	}
}

func TestOutboxDefaultsAndRescale(t *testing.T) {
	s, err := Parse("o.yaml", []byte(base+"outbox: {dsn: postgres://x/y, relay_crashes: [{at: 50s, for: 2s}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := s.Outbox
	if o.Relays != 1 || o.Batch != 100 || o.Interval.D() != 10*time.Millisecond || o.Conns != 16 {
		t.Fatalf("defaults: %+v", o)
	}
	s.Rescale(10 * time.Second) // 100 s -> 10 s
	if c := o.RelayCrashes[0]; c.At.D() != 5*time.Second || c.For.D() != 200*time.Millisecond {
		t.Fatalf("rescaled crash: %+v", c)
	}
	none, _ := Parse("n.yaml", []byte(base))
	if none.Outbox != nil {
		t.Fatal("no outbox section, yet Outbox is set")
	}
}
