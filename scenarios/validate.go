package scenarios

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ValidateOptions plugs in checks owned by other packages. A nil hook skips
// that check (the CLI wires reports/gate and chaos into them).
type ValidateOptions struct {
	// CheckGate parses one gate or steady-state expression ("commit.p95 < 20ms").
	CheckGate func(expr string) error
	// CheckFault checks a fault's kind and kind-specific parameters.
	CheckFault func(f Fault) error
	// CheckFixture reads an events.fixture file as a run would, so a
	// malformed line is reported ("orders.jsonl:12: ...") before any run.
	CheckFixture func(path string) error
}

var nameRe = regexp.MustCompile(`^[a-z0-9-]+$`)

// problems collects one "file:line: field: problem; fix" line per problem.
type problems struct {
	s     *Scenario
	lines []string
}

func (p *problems) add(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.lines = append(p.lines, fmt.Sprintf("%s: %s: %s", loc(p.s.File(), p.s.lineOf(path)), path, msg))
}

// addErr adds a hook's error, one line per line of its message.
func (p *problems) addErr(path string, err error) {
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			p.add(path, "%s", l)
		}
	}
}

// Validate checks everything a run depends on and returns nil or one error
// whose message has one line per problem, each naming file, line, field and
// the fix: `campaign.yaml:12: load.stages[1].over: must be > 0; write e.g. 30s`.
// It never panics and never touches the network; it only stats
// events.fixture.
func Validate(s *Scenario, opts ValidateOptions) (err error) {
	if s == nil {
		return fmt.Errorf("scenario: nil scenario; load one with LoadFile, Builtin or Resolve")
	}
	p := &problems{s: s}
	defer func() {
		if r := recover(); r != nil { // a hook must not take the CLI down
			p.add("scenario", "validation failed unexpectedly: %v; report this", r)
			err = joinLines(p.lines)
		}
	}()
	validateName(p, s)
	total := validateLoad(p, s)
	validateEvents(p, s, opts)
	validateConsumers(p, s, total)
	validateRebuildModes(p, s, total)
	validateFaults(p, s, total, opts)
	validateGates(p, s, opts)
	validateExpect(p, s)
	validateRetry(p, s)
	validateConcurrency(p, s)
	validateDurable(p, s)
	validateOutbox(p, s, total)
	validateVersions(p, s, total)
	validateHandlers(p, s, total)
	if len(p.lines) == 0 {
		return nil
	}
	return joinLines(p.lines)
}

func validateName(p *problems, s *Scenario) {
	switch {
	case s.Name == "":
		p.add("name", "missing; add e.g. name: my-scenario")
	case !nameRe.MatchString(s.Name):
		p.add("name", "%q may only use a-z, 0-9 and -; write e.g. %q", s.Name, suggestName(s.Name))
	}
}

func suggestName(n string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(n) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r == ' ' || r == '_' || r == '.':
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "my-scenario"
	}
	return b.String()
}

func fmtRate(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// validateLoad checks the rate profile and returns the run length.
func validateLoad(p *problems, s *Scenario) time.Duration {
	l := s.Load
	if l.Start < 0 || isNaN(l.Start) {
		p.add("load.start", "%s is not a rate; write events/s >= 0, e.g. 500", fmtRate(l.Start))
	}
	peak := l.Start
	for i, st := range l.Stages {
		path := "load.stages[" + strconv.Itoa(i) + "]"
		if st.To < 0 || isNaN(st.To) {
			p.add(path+".to", "%s is not a rate; write events/s >= 0, e.g. 500", fmtRate(st.To))
		}
		if st.Over <= 0 {
			p.add(path+".over", "%s must be > 0; write e.g. 30s", st.Over)
		}
		peak = max(peak, st.To)
	}
	if len(l.Stages) == 0 {
		if l.Start == 0 {
			p.add("load.start", "0 with no stages offers no load; set a rate > 0, e.g. 500, or add load.stages")
		}
		if l.Duration < 0 {
			p.add("load.duration", "%s is negative; write e.g. 60s", l.Duration)
		}
	} else {
		if peak <= 0 {
			p.add("load.stages", "every rate is 0, so no load is offered; raise a stage's to, e.g. 500")
		}
		if l.Duration != 0 {
			p.add("load.duration", "%s is ignored because load.stages sets the length; remove one of them", l.Duration)
		}
	}
	total := s.TotalDuration()
	if total <= 0 {
		path := "load.duration"
		if len(l.Stages) > 0 {
			path = "load.stages"
		}
		p.add(path, "the run has no length; set load.duration (e.g. 60s) or stages with over > 0")
	}
	if l.MaxInFlight < 1 {
		p.add("load.max_in_flight", "%d; need at least 1 (default 1024)", l.MaxInFlight)
	}
	if l.Warmup < 0 {
		p.add("load.warmup", "%s is negative; write e.g. 10s, or remove it for no warm-up", l.Warmup)
	} else if total > 0 && l.Warmup.D() >= total {
		p.add("load.warmup", "%s is not shorter than the load (%v); the warm-up is the first part of the load, so make it shorter, e.g. %v", l.Warmup, total, (total / 10).Round(time.Second))
	}
	if l.Events < 0 {
		p.add("load.events", "%d is negative; write a count > 0, or remove it to follow the profile", l.Events)
	}
	return total
}

func isNaN(f float64) bool { return f != f }

func validateEvents(p *problems, s *Scenario, opts ValidateOptions) {
	e := s.Events
	for _, is := range CheckPayload(e) {
		p.add(is.Path, "%s", is.Problem)
	}
	if e.Fixture != "" {
		if _, err := os.Stat(e.Fixture); err != nil {
			p.add("events.fixture", "%q not found (paths are relative to the scenario's folder or the working directory); fix the path or use events.size instead", e.Fixture)
		} else if opts.CheckFixture != nil {
			if err := opts.CheckFixture(e.Fixture); err != nil {
				p.add("events.fixture", "%s", strings.TrimPrefix(err.Error(), "fixtures: "))
			}
		}
	}
	k := e.Keys
	if k.Count < 1 {
		p.add("events.keys.count", "%d; need at least 1 key, e.g. 10000", k.Count)
	}
	switch k.Distribution {
	case "zipf":
		if !(k.S > 1) {
			p.add("events.keys.s", "%s is too small; zipf needs s > 1 (e.g. 1.1)", fmtRate(k.S))
		}
	case "hotset":
		if !(k.Hot > 0 && k.Hot < 1) {
			p.add("events.keys.hot", "%s is outside (0,1); write the fraction of keys that are hot, e.g. 0.01", fmtRate(k.Hot))
		}
		if !(k.Share > 0 && k.Share < 1) {
			p.add("events.keys.share", "%s is outside (0,1); write the fraction of events on hot keys, e.g. 0.8", fmtRate(k.Share))
		}
	default:
		known := false
		for _, d := range Distributions() {
			known = known || d == k.Distribution
		}
		if !known {
			p.add("events.keys.distribution", "unknown distribution %q; use one of: %s", k.Distribution, strings.Join(Distributions(), ", "))
		} else if k.Count >= 1 {
			if _, err := NewKeyPicker(k); err != nil {
				p.addErr("events.keys", err)
			}
		}
	}
	if e.Batch < 1 {
		p.add("events.batch", "%d; need at least 1 event per append", e.Batch)
	}
	for i, t := range e.Types {
		if strings.TrimSpace(t) == "" {
			p.add("events.types["+strconv.Itoa(i)+"]", "empty event type; write a name like OrderPlaced or remove the entry")
		}
	}
}

func validateConsumers(p *problems, s *Scenario, total time.Duration) {
	c := s.Consumers
	if c.Projectors < 0 {
		p.add("consumers.projectors", "%d is negative; write 0 (no projection) or more", c.Projectors)
	}
	if c.Rebuild != "none" && c.Rebuild != "end" {
		p.add("consumers.rebuild", "unknown mode %q; use none or end", c.Rebuild)
	}
	if c.Drain <= 0 {
		p.add("consumers.drain", "%s must be > 0; write e.g. 30s", c.Drain)
	}
	if len(c.Pause) > 0 && c.Projectors == 0 {
		p.add("consumers.pause", "pauses need a projector; set consumers.projectors >= 1 or remove the pauses")
	}
	type win struct {
		i       int
		at, end time.Duration
	}
	var wins []win
	for i, ps := range c.Pause {
		path := "consumers.pause[" + strconv.Itoa(i) + "]"
		ok := true
		if ps.At < 0 {
			p.add(path+".at", "%s is negative; write a time from the start, e.g. 20s", ps.At)
			ok = false
		}
		if ps.For <= 0 {
			p.add(path+".for", "%s must be > 0; write e.g. 15s", ps.For)
			ok = false
		}
		if ok && total > 0 && ps.At.D()+ps.For.D() > total {
			p.add(path, "at %s for %s ends at %s, after the run (%s); end it by %s", ps.At, ps.For, ps.At.D()+ps.For.D(), total, total)
			ok = false
		}
		if ok {
			wins = append(wins, win{i, ps.At.D(), ps.At.D() + ps.For.D()})
		}
	}
	sort.Slice(wins, func(a, b int) bool { return wins[a].at < wins[b].at })
	for j := 1; j < len(wins); j++ {
		prev, cur := wins[j-1], wins[j]
		if cur.at < prev.end {
			p.add("consumers.pause["+strconv.Itoa(cur.i)+"]", "overlaps pause[%d] (%s to %s); start it at %s or later, or merge them", prev.i, prev.at, prev.end, prev.end)
		}
	}
}

var faultPaths = map[string]bool{"producer": true, "consumer": true, "both": true, "store": true}

func validateFaults(p *problems, s *Scenario, total time.Duration, opts ValidateOptions) {
	for i, f := range s.Faults {
		path := "faults[" + strconv.Itoa(i) + "]"
		ok := true
		if f.At < 0 {
			p.add(path+".at", "%s is negative; write a time from the start, e.g. 30s", f.At)
			ok = false
		}
		if f.For < 0 {
			p.add(path+".for", "%s is negative; write e.g. 20s", f.For)
			ok = false
		}
		if ok && total > 0 && f.At.D()+f.For.D() > total {
			p.add(path, "at %s for %s ends at %s, after the run (%s); end it by %s", f.At, f.For, f.At.D()+f.For.D(), total, total)
		}
		if !faultPaths[f.Path] && !IsPathless(f) {
			p.add(path+".path", "%q is not a path; use producer, consumer, both or store", f.Path)
		}
		if f.Kind == "" {
			p.add(path+".kind", "missing; add the fault kind, e.g. kind: latency")
		}
		if f.Toxicity != nil && !(*f.Toxicity >= 0 && *f.Toxicity <= 1) {
			p.add(path+".toxicity", "%s is outside [0,1]; write the fraction of connections affected, e.g. 1", fmtRate(*f.Toxicity))
		}
		if opts.CheckFault != nil && f.Kind != "" {
			if err := opts.CheckFault(f); err != nil {
				p.addErr(path, err)
			}
		}
	}
}

func validateGates(p *problems, s *Scenario, opts ValidateOptions) {
	check := func(path, expr string) {
		if strings.TrimSpace(expr) == "" {
			p.add(path, "empty expression; write e.g. \"commit.p95 < 20ms\" or remove it")
			return
		}
		if opts.CheckGate != nil {
			if err := opts.CheckGate(expr); err != nil {
				p.addErr(path, err)
			}
		}
	}
	for i, g := range s.Gates {
		check("gates["+strconv.Itoa(i)+"]", g)
	}
	ss := s.SteadyState
	for i, c := range ss.Checks {
		check("steady_state.checks["+strconv.Itoa(i)+"]", c)
	}
	if ss.Window < 0 {
		p.add("steady_state.window", "%s is negative; write e.g. 5s", ss.Window)
	}
	if ss.RecoveryTimeout < 0 {
		p.add("steady_state.recovery_timeout", "%s is negative; write e.g. 30s", ss.RecoveryTimeout)
	}
}
