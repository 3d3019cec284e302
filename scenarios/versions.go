package scenarios

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/evbench/evbench/fixtures/envelope"
)

// VersionSwitch is one entry of the schema-evolution timeline
// (events.versions): from At on, producers write events of Type at schema
// Version. Every type starts at version 1; a type's versions only go up, as
// a deployment rolls producers forward. The versions are the event
// catalogue's (docs/fixtures.md): OrderPlaced has 1-3.
type VersionSwitch struct {
	// At is when the producers switch, from the start of the load.
	At Duration `yaml:"at" json:"at"`
	// Type is one of the run's event types (events.types, default the
	// order catalogue).
	Type string `yaml:"type" json:"type"`
	// Version is the schema version written from At on (> the type's
	// version before).
	Version int `yaml:"version" json:"version"`
}

// Canary is an old-version reader (consumers.canary) that runs beside the
// current one: it knows each type only up to Version and has no
// upcasters, as a consumer not yet redeployed, so the events it cannot read
// measure what a schema change breaks for readers that lag behind.
type Canary struct {
	// Version is the newest schema version the canary knows (>= 1); it reads
	// events of exactly that version (or of a type's newest, when lower).
	Version int `yaml:"version" json:"version"`
}

// RunTypes are the event types a synthetic run produces: events.types, or
// the default order catalogue when empty.
func RunTypes(e Events) []string {
	if len(e.Types) == 0 {
		return envelope.DefaultTypes
	}
	return e.Types
}

// SchemaEvolution reports whether the scenario measures schema evolution
// (a versions timeline or a canary): then the runner starts its readers.
func (s *Scenario) SchemaEvolution() bool {
	return len(s.Events.Versions) > 0 || s.Consumers.Canary != nil
}

// validateVersions checks events.versions and consumers.canary.
func validateVersions(p *problems, s *Scenario, total time.Duration) {
	e := s.Events
	if len(e.Versions) > 0 {
		switch {
		case e.Fixture != "":
			p.add("events.versions", "a versions timeline needs synthetic envelopes, but events.fixture supplies the payloads (its lines carry their own versions); remove events.fixture or the timeline")
			return
		case e.Payload == PayloadRandom:
			p.add("events.versions", "a versions timeline needs JSON envelopes, but events.payload is random; set events.payload: envelope or remove the timeline")
			return
		}
	}
	types := RunTypes(e)
	type entry struct {
		i  int
		sw VersionSwitch
	}
	var ok []entry
	for i, sw := range e.Versions {
		path := "events.versions[" + strconv.Itoa(i) + "]"
		good := true
		switch {
		case sw.At < 0:
			p.add(path+".at", "%s is negative; write a time from the start, e.g. 30s", sw.At)
			good = false
		case total > 0 && sw.At.D() >= total:
			p.add(path+".at", "%s is outside the load (0s to %s); write a time within it, e.g. %s", sw.At, total, (total / 2).Round(time.Second))
			good = false
		}
		switch {
		case sw.Type == "":
			p.add(path+".type", "missing; write the event type that changes, e.g. type: OrderPlaced")
			continue
		case !slices.Contains(types, sw.Type):
			p.add(path+".type", "%q is not one of the run's event types (%s); use one of them or add it to events.types", sw.Type, strings.Join(types, ", "))
			continue
		}
		if n := envelope.Versions(sw.Type); sw.Version < 1 || sw.Version > n {
			p.add(path+".version", "%d: the catalogue has version%s of %s (docs/fixtures.md); write one of them", sw.Version, versionRange(n), sw.Type)
			continue
		}
		if good {
			ok = append(ok, entry{i, sw})
		}
	}
	sort.SliceStable(ok, func(a, b int) bool { return ok[a].sw.At < ok[b].sw.At })
	last := map[string]entry{}
	for _, x := range ok {
		path := "events.versions[" + strconv.Itoa(x.i) + "]"
		prev, seen := last[x.sw.Type]
		switch {
		case seen && prev.sw.At == x.sw.At:
			p.add(path, "switches %s a second time at %s (events.versions[%d] already does); keep one of them", x.sw.Type, x.sw.At, prev.i)
		case seen && x.sw.Version <= prev.sw.Version:
			p.add(path+".version", "%d goes down from version %d (events.versions[%d] at %s); a type's versions only go up, so raise it or reorder the timeline", x.sw.Version, prev.sw.Version, prev.i, prev.sw.At)
		case !seen && x.sw.Version == 1:
			p.add(path+".version", "1: %s is already at version 1 (every type starts there); remove the entry or write a later version", x.sw.Type)
		default:
			last[x.sw.Type] = x
		}
	}
	if c := s.Consumers.Canary; c != nil {
		newest := 1
		for _, t := range types {
			newest = max(newest, envelope.Versions(t))
		}
		if c.Version < 1 || c.Version > newest {
			p.add("consumers.canary.version", "%d: the catalogue has version%s of the run's types; write the old version the canary reads, e.g. version: 1", c.Version, versionRange(newest))
		}
		if e.Payload == PayloadRandom && e.Fixture == "" {
			p.add("consumers.canary", "the canary decodes JSON envelopes, but events.payload is random; set events.payload: envelope or remove the canary")
		}
	}
}

// versionRange is " 1" or "s 1-n", to follow "version".
func versionRange(n int) string {
	if n == 1 {
		return " 1"
	}
	return "s 1-" + strconv.Itoa(n)
}

// rescaleVersions moves the timeline with the load (Rescale).
func rescaleVersions(s *Scenario, scale func(*Duration)) {
	for i := range s.Events.Versions {
		scale(&s.Events.Versions[i].At)
	}
}
