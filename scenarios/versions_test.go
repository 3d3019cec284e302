package scenarios

import (
	"strings"
	"testing"
	"time"
)

// versionsBase is a valid schema-evolution scenario (60 s of load).
const versionsBase = `name: evo
events:
  size: {min: 200, max: 1000}
  versions:
    - {at: 20s, type: OrderPlaced, version: 2}
    - {at: 40s, type: OrderPlaced, version: 3}
load: {start: 100, duration: 60s}
consumers:
  canary: {version: 1}
`

func TestVersionsValid(t *testing.T) {
	s, err := Parse("evo.yaml", []byte(versionsBase))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(s, ValidateOptions{}); err != nil {
		t.Fatal(err)
	}
	if !s.SchemaEvolution() || len(s.Events.Versions) != 2 || s.Consumers.Canary.Version != 1 {
		t.Fatalf("parsed %+v canary %+v", s.Events.Versions, s.Consumers.Canary)
	}
	s.Rescale(30 * time.Second)
	if s.Events.Versions[0].At.D() != 10*time.Second || s.Events.Versions[1].At.D() != 20*time.Second {
		t.Errorf("rescaled timeline %+v, want 10s and 20s", s.Events.Versions)
	}
	plain, _ := Parse("p.yaml", []byte("name: p\nload: {start: 1, duration: 1s}\n"))
	if plain.SchemaEvolution() {
		t.Error("a scenario without versions or canary measures no schema evolution")
	}
}

// TestVersionsErrors: each bad timeline or canary is a line naming the
// file, line, field and fix.
func TestVersionsErrors(t *testing.T) {
	cases := []struct {
		name, old, new string
		want           string
	}{
		{"unknown type", "at: 20s, type: OrderPlaced", "at: 20s, type: OrderPlacd",
			`evo.yaml:5: events.versions[0].type: "OrderPlacd" is not one of the run's event types (OrderPlaced, PaymentCaptured, ItemReserved, OrderShipped, OrderCancelled); use one of them or add it to events.types`},
		{"type outside events.types", "  size: {min: 200, max: 1000}\n", "  size: {min: 200, max: 1000}\n  types: [PaymentCaptured]\n",
			`evo.yaml:6: events.versions[0].type: "OrderPlaced" is not one of the run's event types (PaymentCaptured); use one of them or add it to events.types`},
		{"missing type", "at: 20s, type: OrderPlaced, version: 2", "at: 20s, version: 2",
			`evo.yaml:5: events.versions[0].type: missing; write the event type that changes, e.g. type: OrderPlaced`},
		{"version the catalogue lacks", "version: 3}", "version: 4}",
			`evo.yaml:6: events.versions[1].version: 4: the catalogue has versions 1-3 of OrderPlaced (docs/fixtures.md); write one of them`},
		{"type with one version", "at: 40s, type: OrderPlaced, version: 3", "at: 40s, type: ItemReserved, version: 2",
			`evo.yaml:6: events.versions[1].version: 2: the catalogue has version 1 of ItemReserved (docs/fixtures.md); write one of them`},
		{"at after the load", "at: 40s", "at: 60s",
			`evo.yaml:6: events.versions[1].at: 1m0s is outside the load (0s to 1m0s); write a time within it, e.g. 30s`},
		{"negative at", "at: 20s", "at: -1s",
			`evo.yaml:5: events.versions[0].at: -1s is negative; write a time from the start, e.g. 30s`},
		{"going down", "at: 40s, type: OrderPlaced, version: 3", "at: 40s, type: OrderPlaced, version: 2",
			`evo.yaml:6: events.versions[1].version: 2 goes down from version 2 (events.versions[0] at 20s); a type's versions only go up, so raise it or reorder the timeline`},
		{"going down out of order", "at: 20s, type: OrderPlaced, version: 2", "at: 50s, type: OrderPlaced, version: 2",
			`evo.yaml:5: events.versions[0].version: 2 goes down from version 3 (events.versions[1] at 40s); a type's versions only go up, so raise it or reorder the timeline`},
		{"same instant twice", "at: 40s", "at: 20s",
			`evo.yaml:6: events.versions[1]: switches OrderPlaced a second time at 20s (events.versions[0] already does); keep one of them`},
		{"back to one", "at: 20s, type: OrderPlaced, version: 2", "at: 20s, type: OrderPlaced, version: 1",
			`evo.yaml:5: events.versions[0].version: 1: OrderPlaced is already at version 1 (every type starts there); remove the entry or write a later version`},
		{"fixture", "  size: {min: 200, max: 1000}\n", "  fixture: ../fixtures/orders.jsonl\n",
			`evo.yaml:4: events.versions: a versions timeline needs synthetic envelopes, but events.fixture supplies the payloads (its lines carry their own versions); remove events.fixture or the timeline`},
		{"random payload", "  size: {min: 200, max: 1000}\n", "  size: {min: 200, max: 1000}\n  payload: random\n",
			`evo.yaml:5: events.versions: a versions timeline needs JSON envelopes, but events.payload is random; set events.payload: envelope or remove the timeline`},
		{"canary version 0", "canary: {version: 1}", "canary: {version: 0}",
			`evo.yaml:9: consumers.canary.version: 0: the catalogue has versions 1-3 of the run's types; write the old version the canary reads, e.g. version: 1`},
		{"canary on random bytes", "  versions:\n    - {at: 20s, type: OrderPlaced, version: 2}\n    - {at: 40s, type: OrderPlaced, version: 3}\n", "  payload: random\n",
			`evo.yaml:7: consumers.canary: the canary decodes JSON envelopes, but events.payload is random; set events.payload: envelope or remove the canary`},
		{"canary unknown key", "canary: {version: 1}", "canary: {verison: 1}",
			`consumers.canary.verison: unknown field "verison"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(versionsBase, tc.old, tc.new, 1)
			if src == versionsBase {
				t.Fatalf("replacement %q not found", tc.old)
			}
			s, err := Parse("evo.yaml", []byte(src))
			if err == nil {
				err = Validate(s, ValidateOptions{})
			}
			if err == nil {
				t.Fatalf("accepted:\n%s", src)
			}
			found := false
			for _, l := range strings.Split(err.Error(), "\n") {
				found = found || strings.Contains(l, tc.want)
			}
			if !found {
				t.Errorf("got\n%s\nwant the line\n%s", err, tc.want)
			}
		})
	}
}
