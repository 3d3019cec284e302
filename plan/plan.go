// Package plan turns a measurement into capacity figures (evbench plan):
// bytes per event, storage per day and for a retention, the longest
// rebuild after a failure, headroom over a peak rate, and the cost per
// million events. Every figure names the measurement or flag it came from,
// so a reader can tell a measured number from an assumed one; a figure
// that needs a measurement the input lacks is an error naming the flag and
// the fix, never a guess.
package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/evbench/evbench/reports/measure"
)

// Input is what a plan is made from. Result, Probe or both must be set.
type Input struct {
	// Result is a run's result.json: bytes per event and rebuild rate come
	// from it; its achieved rate stands in for a sustainable rate (and is
	// labelled so) when there is no Probe.
	Result *measure.Result
	// Probe is a probe.json (probe.Result, an alias of this type): its
	// max_sustainable_rate gives headroom and cost.
	Probe *measure.ProbeResult
	// PeakRate is the expected peak append rate, events/s (--peak-rate);
	// 0 leaves out the figures that need it.
	PeakRate float64
	// Retention is how long events are kept (--retention); 0 leaves out
	// the storage and rebuild figures of the retention.
	Retention time.Duration
	// EventSize is bytes per event (--event-size); 0 means measured.
	EventSize int64
	// CostPerHour is what the store costs per hour (--cost-per-hour), in
	// any currency; 0 leaves out the cost figure.
	CostPerHour float64
}

// Figure is one number of the plan.
type Figure struct {
	Name  string
	Value string
	Unit  string
	// Source says which measurement or flag it came from, e.g.
	// "result.json rebuild.events_per_sec = 52,300/s".
	Source string
}

// Plan is the figures and the caveats a reader must know.
type Plan struct {
	// Subject says what was measured ("rebuild on refstore (refstore
	// sync=always)").
	Subject  string
	Figures  []Figure
	Warnings []string
}

// Make computes the plan. Errors are one line naming the missing
// measurement or bad flag and the fix.
func Make(in Input) (Plan, error) {
	var p Plan
	r, pr := in.Result, in.Probe
	rbFile := "result.json"
	if r == nil && pr != nil && pr.Rebuild != nil {
		// The probe's closing replay: bytes per event and rebuild rate.
		r, rbFile = &measure.Result{Complete: true, Rebuild: pr.Rebuild, Driver: pr.Driver, Durability: pr.Durability}, "probe.json"
	}
	switch {
	case r == nil && pr == nil:
		return p, errors.New("plan: no measurement: give a run result directory (result.json) or a probe directory (probe.json)")
	case in.PeakRate < 0 || math.IsNaN(in.PeakRate) || math.IsInf(in.PeakRate, 0):
		return p, fmt.Errorf("--peak-rate %g: want events per second, a number > 0", in.PeakRate)
	case in.Retention < 0:
		return p, fmt.Errorf("--retention %v: want a positive duration, e.g. 30d or 720h", in.Retention)
	case in.EventSize < 0:
		return p, fmt.Errorf("--event-size %d: want bytes per event > 0", in.EventSize)
	case in.CostPerHour < 0 || math.IsNaN(in.CostPerHour) || math.IsInf(in.CostPerHour, 0):
		return p, fmt.Errorf("--cost-per-hour %g: want a cost >= 0", in.CostPerHour)
	case in.Retention > 0 && in.PeakRate == 0:
		return p, errors.New("--retention needs --peak-rate: the events kept are the peak rate over the retention; pass --peak-rate EVENTS_PER_S")
	}
	if in.Retention > 0 && (r == nil || r.Rebuild == nil || r.Rebuild.EventsPerSec <= 0) {
		what := "RESULT has no rebuild"
		if r == nil {
			what = "a probe has no rebuild measurement"
		}
		return p, fmt.Errorf("%s: re-run with --set consumers.rebuild=end (evbench run SCENARIO) or drop --retention", what)
	}
	p.Subject = subject(r, pr)
	p.warnInput(r, pr)

	add := func(name, value, unit, source string) {
		p.Figures = append(p.Figures, Figure{Name: name, Value: value, Unit: unit, Source: source})
	}

	// Bytes per event: needed by the storage figures only.
	var bpe float64
	if in.PeakRate > 0 || in.EventSize > 0 || r != nil {
		b, src, note, err := bytesPerEvent(in, r, rbFile)
		if err != nil && in.PeakRate > 0 {
			return p, err
		}
		if err == nil {
			bpe = b
			add("bytes per event", num(b), "B", src)
			if note != "" {
				p.Warnings = append(p.Warnings, note)
			}
		}
	}

	if in.PeakRate > 0 {
		perDay := in.PeakRate * 86400
		add("events per day at peak", num(perDay), "events", fmt.Sprintf("--peak-rate %s/s × 86,400 s", num(in.PeakRate)))
		v, u := bytesUnit(perDay * bpe)
		add("storage per day at peak", v, u+"/day", fmt.Sprintf("events per day × %s B/event", num(bpe)))
	}
	if in.Retention > 0 {
		events := in.PeakRate * in.Retention.Seconds()
		ret := FormatRetention(in.Retention)
		add("events in the retention", num(events), "events", fmt.Sprintf("--peak-rate %s/s × --retention %s", num(in.PeakRate), ret))
		v, u := bytesUnit(events * bpe)
		add("storage for the retention", v, u, fmt.Sprintf("events in the retention × %s B/event (no compaction, no replicas)", num(bpe)))
		rb := r.Rebuild
		secs := events / rb.EventsPerSec
		v, u = durationUnit(secs)
		add("maximum rebuild duration after a failure", v, u,
			fmt.Sprintf("events in the retention / %s rebuild.events_per_sec = %s/s", rbFile, num(rb.EventsPerSec)))
		if !rb.Complete {
			p.Warnings = append(p.Warnings, fmt.Sprintf("the measured rebuild did not reach the head (%s events replayed): its rate may not hold for a full replay", num(float64(rb.Events))))
		}
		if float64(rb.Events) < events/100 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("the rebuild rate was measured over %s events, the retention holds %s: replaying %s× more is an extrapolation (caches, disk reads, compaction change the rate); measure a longer history to confirm",
				num(float64(rb.Events)), num(events), num(events/math.Max(1, float64(rb.Events)))))
		}
	}

	// The sustainable rate: the probe's, else the run's achieved rate,
	// labelled as such.
	rate, rateName, rateSrc := 0.0, "", ""
	switch {
	case pr != nil:
		if pr.MaxSustainableRate <= 0 {
			if in.PeakRate > 0 || in.CostPerHour > 0 {
				return p, errors.New("probe.json max_sustainable_rate is 0 (even the first step failed its SLO): re-run evbench probe with a lower --min, or drop --peak-rate and --cost-per-hour")
			}
			break
		}
		rate, rateName = pr.MaxSustainableRate, "max sustainable rate"
		rateSrc = "probe.json max_sustainable_rate"
		if len(pr.SLO) > 0 {
			rateSrc += " (SLO " + strings.Join(pr.SLO, ", ") + ")"
		}
		if pr.ClientLimitedAt > 0 && pr.ClientLimitedAt <= pr.MaxSustainableRate*1.0001 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("evbench itself was the limit from %s/s on (probe.json client_limited_at): the sustainable rate is a floor for the store, not its ceiling", num(pr.ClientLimitedAt)))
		}
		switch {
		case pr.FirstFailingRate == 0 && pr.ClientLimitedAt > pr.MaxSustainableRate:
			p.Warnings = append(p.Warnings, fmt.Sprintf("no probe step failed below %s/s, where evbench itself became the limit (probe.json client_limited_at): the store may sustain up to that; max_sustainable_rate is a floor", num(pr.ClientLimitedAt)))
		case pr.FirstFailingRate == 0:
			p.Warnings = append(p.Warnings, "no probe step failed up to the probe's --max: the store may sustain more than max_sustainable_rate")
		}
	case r.AchievedRate > 0:
		rate, rateName = r.AchievedRate, "achieved rate"
		rateSrc = fmt.Sprintf("result.json achieved_rate (offered %s/s)", num(r.OfferedRate))
	default:
		if in.PeakRate > 0 || in.CostPerHour > 0 {
			return p, errors.New("RESULT has no achieved rate (no event acknowledged): run evbench probe for a sustainable rate and plan on its directory, or drop --peak-rate and --cost-per-hour")
		}
	}
	label := "" // marks figures resting on an achieved rate
	if pr == nil {
		label = " (achieved, not a sustainable rate)"
	}
	if rate > 0 {
		add(rateName+label, num(rate), "events/s", rateSrc)
	}
	if in.PeakRate > 0 {
		h := rate / in.PeakRate
		name := "headroom over peak" + label
		if pr == nil {
			p.Warnings = append(p.Warnings, "headroom uses the run's achieved rate, which is what was offered, not what the store can sustain: run evbench probe and plan on its directory for a real headroom")
		}
		add(name, strconv.FormatFloat(h, 'f', 2, 64), "×", fmt.Sprintf("%s %s/s / --peak-rate %s/s", rateName, num(rate), num(in.PeakRate)))
		if h < 1 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("the peak rate %s/s exceeds the %s %s/s: the store as measured does not hold the peak", num(in.PeakRate), rateName, num(rate)))
		}
	}
	if in.CostPerHour > 0 {
		perM := in.CostPerHour / (rate * 3600) * 1e6
		name := "cost per million events at the sustainable rate"
		if pr == nil {
			name = "cost per million events at the achieved rate" + label
		}
		add(name, strconv.FormatFloat(perM, 'g', 3, 64), "per 1M events",
			fmt.Sprintf("--cost-per-hour %s / (%s %s/s × 3,600 s) × 1,000,000", strconv.FormatFloat(in.CostPerHour, 'f', -1, 64), rateName, num(rate)))
	}
	if in.PeakRate == 0 {
		p.Warnings = append(p.Warnings, "pass --peak-rate EVENTS_PER_S for storage per day and headroom, and --retention for storage and rebuild time of the retention")
	}
	return p, nil
}

// warnInput adds the caveats of the input itself.
func (p *Plan) warnInput(r *measure.Result, pr *measure.ProbeResult) {
	if r != nil {
		if !r.Complete {
			p.Warnings = append(p.Warnings, fmt.Sprintf("result.json is an incomplete run (%s): its figures cover part of the scenario", r.Reason))
		}
		if r.Client.Limited {
			p.Warnings = append(p.Warnings, fmt.Sprintf("evbench was the limit of this run (%s): its rates are the harness's, not the store's", strings.Join(r.Client.Reasons, "; ")))
		}
	}
	if pr != nil && !pr.Complete {
		p.Warnings = append(p.Warnings, fmt.Sprintf("probe.json is an incomplete probe (%s): the sustainable rate may be understated", pr.Reason))
	}
}

func subject(r *measure.Result, pr *measure.ProbeResult) string {
	var s, drv, desc string
	switch {
	case r != nil:
		s, drv, desc = r.Scenario.Name, r.Driver.Name, r.Driver.Describe
	default:
		s, drv, desc = pr.Scenario, pr.Driver.Name, pr.Driver.Describe
	}
	switch {
	case desc == "":
		return s + " on " + drv
	case strings.HasPrefix(desc, drv):
		return s + " on " + desc
	default:
		return s + " on " + drv + " (" + desc + ")"
	}
}

// bytesPerEvent is --event-size, else the rebuild's bytes per event, else
// the midpoint of the scenario's events.size; note says what it leaves out.
func bytesPerEvent(in Input, r *measure.Result, file string) (b float64, source, note string, err error) {
	const overhead = "store overhead (log framing, indexes, replicas) is not included: the store does not report it"
	if in.EventSize > 0 {
		return float64(in.EventSize), "--event-size", "", nil
	}
	if r == nil {
		return 0, "", "", errors.New("a probe has no event size: pass --event-size BYTES (or plan on a run result directory, whose rebuild measures it)")
	}
	if rb := r.Rebuild; rb != nil && rb.Events > 0 && rb.Bytes > 0 {
		b := float64(rb.Bytes) / float64(rb.Events)
		return b, fmt.Sprintf("measured: %s rebuild.bytes / rebuild.events = %s B / %s (payload, key, type and 32 B of id, seq, time as read back)", file, num(float64(rb.Bytes)), num(float64(rb.Events))),
			"bytes per event are as read back by the rebuild; " + overhead, nil
	}
	var sc struct {
		Events struct {
			Size struct {
				Min, Max int64
			} `json:"size"`
			Fixture string `json:"fixture"`
		} `json:"events"`
	}
	if len(r.Scenario.Resolved) > 0 {
		_ = json.Unmarshal(r.Scenario.Resolved, &sc)
	}
	if sz := sc.Events.Size; sz.Max > 0 && sc.Events.Fixture == "" {
		b := float64(sz.Min+sz.Max) / 2
		return b, fmt.Sprintf("scenario events.size {min %d, max %d} midpoint (result.json has no rebuild to measure it)", sz.Min, sz.Max),
			"bytes per event are the payload size the scenario asked for, without key, type or metadata; " + overhead, nil
	}
	return 0, "", "", errors.New("RESULT has no rebuild and no events.size to size events by: pass --event-size BYTES or re-run with --set consumers.rebuild=end")
}

// ParseRetention reads --retention: whole or fractional days ("30d",
// "1.5d") or a Go duration ("720h").
func ParseRetention(s string) (time.Duration, error) {
	bad := fmt.Errorf("--retention %q: want days (30d) or a Go duration (720h, 90m), > 0", s)
	var d time.Duration
	if v, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || f <= 0 || f > 100*365 {
			return 0, bad
		}
		d = time.Duration(f * float64(24*time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	if d <= 0 {
		return 0, bad
	}
	return d, nil
}

// FormatRetention writes d in days when it is a whole number of them.
func FormatRetention(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// num formats v with thousands separators: integers above 100 without
// decimals, smaller values with three significant digits.
func num(v float64) string {
	if math.Abs(v) < 100 {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// bytesUnit scales b to decimal units (kB = 1000 B, as disks are sold).
func bytesUnit(b float64) (string, string) {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	i := 0
	for math.Abs(b) >= 1000 && i < len(units)-1 {
		b /= 1000
		i++
	}
	return strconv.FormatFloat(b, 'f', prec(b), 64), units[i]
}

// durationUnit writes secs in the largest unit that keeps it >= 1.
func durationUnit(secs float64) (string, string) {
	switch {
	case secs >= 2*86400:
		return strconv.FormatFloat(secs/86400, 'f', 1, 64), "days"
	case secs >= 3600:
		return strconv.FormatFloat(secs/3600, 'f', 1, 64), "h"
	case secs >= 60:
		return strconv.FormatFloat(secs/60, 'f', 1, 64), "min"
	default:
		return strconv.FormatFloat(secs, 'f', prec(secs), 64), "s"
	}
}

func prec(v float64) int {
	switch v = math.Abs(v); {
	case v >= 100:
		return 0
	case v >= 10:
		return 1
	default:
		return 2
	}
}
