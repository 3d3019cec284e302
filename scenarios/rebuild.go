package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Snapshot says when the live read model takes the snapshot a rebuild can
// start from: At (a share of the run's events, "50%", or a time into the
// load, "10s") or Every (after every N events; the latest counts). Set
// exactly one. A snapshot whose moment never came (no events after it) is
// taken when the live run ends.
type Snapshot struct {
	// At is "P%" (once the live model has folded P percent of the events
	// the load schedules, 0 < P < 100) or a duration into the load ("10s").
	At string `yaml:"at,omitempty" json:"at,omitempty"`
	// Every takes a snapshot after every Every events (at least 1000: each
	// one copies every aggregate's state); rebuilds start from the latest.
	Every int64 `yaml:"every,omitempty" json:"every,omitempty"`
}

// MinSnapshotEvery bounds snapshot.every from below: a snapshot copies every
// aggregate's state, so taking them more often would measure the copying.
const MinSnapshotEvery = 1000

// MaxRebuildWorkers bounds consumers.rebuild_workers entries.
const MaxRebuildWorkers = 64

// maxProjectionCost bounds consumers.projection_cost: a second per event is
// a typo, not a projection.
const maxProjectionCost = time.Second

// RebuildModes reports whether the scenario asks for the rebuild
// comparison (projection_cost, rebuild_workers or snapshot set, with
// rebuild: end): full and snapshot+tail rebuilds at each P, checked
// against the live read model's digest.
func (c Consumers) RebuildModes() bool {
	return c.Rebuild == "end" && (c.ProjectionCost > 0 || len(c.RebuildWorkers) > 0 || c.Snapshot != nil)
}

// Workers is rebuild_workers, default [1].
func (c Consumers) Workers() []int {
	if len(c.RebuildWorkers) == 0 {
		return []int{1}
	}
	return c.RebuildWorkers
}

// Percent returns P of "P%" and whether At is a percentage.
func (s Snapshot) Percent() (float64, bool) {
	v, ok := strings.CutSuffix(strings.TrimSpace(s.At), "%")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return -1, true
	}
	return f, true
}

// Time returns At as a duration into the load, when it is one.
func (s Snapshot) Time() (time.Duration, bool) {
	if _, pct := s.Percent(); pct || s.At == "" {
		return 0, false
	}
	d, err := ParseDuration(s.At)
	if err != nil {
		return -1, true
	}
	return d.D(), true
}

// String describes when the snapshot is taken ("at 50%", "every 50000 events").
func (s Snapshot) String() string {
	if s.Every > 0 {
		return fmt.Sprintf("every %d events", s.Every)
	}
	return "at " + s.At
}

// validateRebuildModes checks projection_cost, rebuild_workers and snapshot.
func validateRebuildModes(p *problems, s *Scenario, total time.Duration) {
	c := s.Consumers
	if c.ProjectionCost < 0 || c.ProjectionCost.D() > maxProjectionCost {
		p.add("consumers.projection_cost", "%s is out of range; write a CPU cost per event between 0 and 1s, e.g. 20us", c.ProjectionCost)
	}
	seen := map[int]bool{}
	for i, w := range c.RebuildWorkers {
		path := "consumers.rebuild_workers[" + strconv.Itoa(i) + "]"
		switch {
		case w < 1 || w > MaxRebuildWorkers:
			p.add(path, "%d workers is out of range; write 1 to %d", w, MaxRebuildWorkers)
		case seen[w]:
			p.add(path, "%d is listed twice; list each worker count once, e.g. [1, 2]", w)
		}
		seen[w] = true
	}
	if sn := c.Snapshot; sn != nil {
		switch {
		case sn.At != "" && sn.Every != 0:
			p.add("consumers.snapshot", "set at or every, not both")
		case sn.At == "" && sn.Every == 0:
			p.add("consumers.snapshot", "says nothing; write {at: 50%%}, {at: 10s} or {every: 50000}")
		case sn.Every != 0 && sn.Every < MinSnapshotEvery:
			p.add("consumers.snapshot.every", "%d is below %d; a snapshot copies every aggregate, so take one every %d events or more", sn.Every, MinSnapshotEvery, MinSnapshotEvery)
		case sn.At != "":
			if pct, ok := sn.Percent(); ok {
				if !(pct > 0 && pct < 100) {
					p.add("consumers.snapshot.at", "%q is not a percentage between 0 and 100 (exclusive); write e.g. 50%%", sn.At)
				}
			} else if d, _ := sn.Time(); d <= 0 || (total > 0 && d >= total) {
				p.add("consumers.snapshot.at", "%q is not a time inside the load (0 to %s); write e.g. 50%% or a duration like 10s", sn.At, total)
			}
		}
	}
	if (c.ProjectionCost > 0 || len(c.RebuildWorkers) > 0 || c.Snapshot != nil) && c.Rebuild != "end" {
		p.add("consumers.rebuild", "projection_cost, rebuild_workers and snapshot compare rebuilds at the end; set consumers.rebuild: end")
	}
}

// rescaleSnapshot scales a time-based snapshot.at with the timeline
// (--duration); a percentage needs no scaling.
func rescaleSnapshot(s *Scenario, scale func(*Duration)) {
	sn := s.Consumers.Snapshot
	if sn == nil {
		return
	}
	if d, ok := sn.Time(); ok && d > 0 {
		x := Duration(d)
		scale(&x)
		sn.At = x.String()
	}
}
