package reports

import (
	"encoding/xml"
	"fmt"
	"github.com/evbench/evbench/reports/measure"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// RenderJUnit renders junit.xml: one testcase per gate (steady-state gates
// included), one for the delivery check, "run.complete" and, when the result
// carries the client verdict, "client" (fails when evbench itself was the
// limit, with the reasons), so CI systems show failures natively. Failures
// carry the measured value.
func RenderJUnit(r *measure.Result) ([]byte, error) {
	class := "evbench." + r.Scenario.Name + "." + r.Driver.Name
	var cases []junitCase
	add := func(name string, pass bool, typ, msg, out string) {
		c := junitCase{Name: name, Classname: class, SystemOut: out}
		if !pass {
			c.Failure = &junitFailure{Message: msg, Type: typ, Body: msg}
		}
		cases = append(cases, c)
	}
	complete := "run completed"
	if !r.Complete {
		complete = "run incomplete: " + orDash(r.Reason)
	}
	if Emulated(r) {
		complete += "; " + EmulatedText
	}
	add("run.complete", r.Complete, "incomplete", complete, complete)
	add("delivery", DeliveryOK(r), "delivery", fmt.Sprintf("delivery check: %s", deliveryText(r)), deliveryText(r))
	if ClientJudged(r) {
		add("client", !ClientLimited(r), "client_limited", ClientReasons(r), clientText(r))
	}
	if rb := r.Rebuilds; rb != nil {
		add("rebuild.digest", rb.DigestOK, "rebuild_digest", rebuildDigestText(r), rebuildDigestText(r))
	}
	for _, g := range r.SteadyState {
		add("steady_state: "+g.Expr, g.Pass, "gate", gateStatus(g)+": "+gateDetail(g), gateDetail(g))
	}
	for _, g := range r.Gates {
		add("gate: "+g.Expr, g.Pass, "gate", gateStatus(g)+": "+gateDetail(g), gateDetail(g))
	}
	fails := 0
	for _, c := range cases {
		if c.Failure != nil {
			fails++
		}
	}
	ts := ""
	if !r.StartedAt.IsZero() {
		ts = r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	doc := junitSuites{
		Name: "evbench", Tests: len(cases), Failures: fails,
		Suites: []junitSuite{{
			Name: class, Tests: len(cases), Failures: fails, Time: fmt.Sprintf("%.3f", r.DurationS), Timestamp: ts, Cases: cases,
		}},
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode junit.xml: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}
