// Package gate parses and evaluates k6-style threshold expressions such as
// "commit.p95 < 20ms", "delivery.lost == 0" or, against a baseline result,
// "commit.p99 <= baseline * 1.10 + 1ms". It knows metric names and units but
// nothing about results: the caller supplies lookups, so the package has no
// dependencies and CI, the runner and the CLI all judge the same way.
package gate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Expr is one parsed gate: METRIC OP RHS, where RHS is arithmetic over
// numbers (optionally with a duration unit or %) and the word "baseline".
type Expr struct {
	src    string
	metric string
	op     string
	rhs    *node
}

// node is a right-hand-side term: a literal, the baseline, or a binary op.
type node struct {
	kind  byte // 'n' number, 'b' baseline, or an operator + - * /
	num   float64
	unit  string // for numbers: "" (metric unit), "%" or a duration unit
	l, r  *node
	text  string
	isDur bool
}

// durUnits are the accepted duration units, in nanoseconds (exact in a
// float64, so 12500us is exactly 12.5 ms).
var durUnits = map[string]float64{
	"ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9,
}

// ops lists comparison operators, two-character ones first.
var ops = []string{"<=", ">=", "==", "!=", "<", ">"}

// String returns the expression as written (trimmed).
func (e *Expr) String() string { return e.src }

// Metric is the metric name on the left-hand side.
func (e *Expr) Metric() string { return e.metric }

// Op is the comparison operator.
func (e *Expr) Op() string { return e.op }

// UsesBaseline reports whether the threshold refers to a baseline result.
func (e *Expr) UsesBaseline() bool { return e.rhs.usesBaseline() }

// Worse says which direction of the metric fails the gate: "higher is worse"
// for < and <=, "lower is worse" for > and >=, "" for == and !=.
func (e *Expr) Worse() string {
	switch e.op {
	case "<", "<=":
		return "higher is worse"
	case ">", ">=":
		return "lower is worse"
	}
	return ""
}

func (n *node) usesBaseline() bool {
	if n == nil {
		return false
	}
	return n.kind == 'b' || n.l.usesBaseline() || n.r.usesBaseline()
}

// Parse parses a gate expression. It checks syntax only; Check also
// requires a known metric and a unit that fits it.
func Parse(expr string) (*Expr, error) {
	src := strings.TrimSpace(expr)
	if src == "" {
		return nil, fmt.Errorf("gate: empty expression; write e.g. \"commit.p95 < 20ms\"")
	}
	i := strings.IndexAny(src, "<>=!")
	if i < 0 {
		return nil, fmt.Errorf("gate %q: no comparison operator; use one of < <= > >= == !=", src)
	}
	metric := strings.TrimSpace(src[:i])
	rest := src[i:]
	op := ""
	for _, o := range ops {
		if strings.HasPrefix(rest, o) {
			op = o
			break
		}
	}
	if op == "" {
		return nil, fmt.Errorf("gate %q: bad operator %q; use one of < <= > >= == !=", src, firstRune(rest))
	}
	if metric == "" {
		return nil, fmt.Errorf("gate %q: missing metric name before %q", src, op)
	}
	if !validMetricName(metric) {
		return nil, fmt.Errorf("gate %q: %q is not a metric name (letters, digits, _ and . only)", src, metric)
	}
	p := &parser{src: src, s: rest[len(op):]}
	rhs, err := p.parseSum()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.s != "" {
		return nil, fmt.Errorf("gate %q: unexpected %q after the threshold", src, p.s)
	}
	if rhs == nil {
		return nil, fmt.Errorf("gate %q: missing threshold after %q", src, op)
	}
	return &Expr{src: src, metric: metric, op: op, rhs: rhs}, nil
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

func validMetricName(s string) bool {
	for _, r := range s {
		if !(r == '.' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

// parser is a small recursive-descent parser over the right-hand side.
type parser struct {
	src string // the whole expression, for errors
	s   string // what is left
}

func (p *parser) skipSpace() { p.s = strings.TrimLeft(p.s, " \t") }

// parseSum: product (('+'|'-') product)*
func (p *parser) parseSum() (*node, error) {
	l, err := p.parseProduct()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if p.s == "" || (p.s[0] != '+' && p.s[0] != '-') {
			return l, nil
		}
		op := p.s[0]
		p.s = p.s[1:]
		r, err := p.parseProduct()
		if err != nil {
			return nil, err
		}
		if l.isDur != r.isDur && !(l.kind == 'b' || r.kind == 'b' || l.usesBaseline() || r.usesBaseline()) {
			return nil, fmt.Errorf("gate %q: cannot %s a duration and a plain number; give both a unit", p.src, map[byte]string{'+': "add", '-': "subtract"}[op])
		}
		l = &node{kind: op, l: l, r: r, isDur: l.isDur || r.isDur}
	}
}

// parseProduct: operand (('*'|'/') plain-number)*
func (p *parser) parseProduct() (*node, error) {
	l, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if p.s == "" || (p.s[0] != '*' && p.s[0] != '/') {
			return l, nil
		}
		op := p.s[0]
		p.s = p.s[1:]
		r, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		if r.kind != 'n' || (r.unit != "" && r.unit != "%") {
			return nil, fmt.Errorf("gate %q: %c must be followed by a plain number (a factor such as 1.10), not %q", p.src, op, r.text)
		}
		if op == '/' && r.num == 0 {
			return nil, fmt.Errorf("gate %q: division by zero", p.src)
		}
		l = &node{kind: op, l: l, r: r, isDur: l.isDur}
	}
}

// parseOperand: number[unit] | baseline | '(' sum ')'
func (p *parser) parseOperand() (*node, error) {
	p.skipSpace()
	if p.s == "" {
		return nil, fmt.Errorf("gate %q: expression ends early; expected a number or \"baseline\"", p.src)
	}
	if p.s[0] == '(' {
		p.s = p.s[1:]
		n, err := p.parseSum()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.s == "" || p.s[0] != ')' {
			return nil, fmt.Errorf("gate %q: missing ')'", p.src)
		}
		p.s = p.s[1:]
		return n, nil
	}
	if strings.HasPrefix(p.s, "baseline") {
		rest := p.s[len("baseline"):]
		if rest == "" || !(unicode.IsLetter(rune(rest[0])) || rest[0] == '_' || rest[0] == '.') {
			p.s = rest
			return &node{kind: 'b', text: "baseline"}, nil
		}
	}
	// number: digits, '.', exponent
	j := 0
	s := p.s
	for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == '_') {
		j++
	}
	if j < len(s) && j > 0 && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && s[k] >= '0' && s[k] <= '9' {
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			j = k
		}
	}
	if j == 0 {
		word := s
		if k := strings.IndexAny(word, " \t*/+-()"); k > 0 {
			word = word[:k]
		}
		return nil, fmt.Errorf("gate %q: expected a number or \"baseline\", got %q", p.src, word)
	}
	numText := strings.ReplaceAll(s[:j], "_", "")
	v, err := strconv.ParseFloat(numText, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return nil, fmt.Errorf("gate %q: %q is not a number", p.src, s[:j])
	}
	// unit: letters, µ, %
	k := j
	for k < len(s) {
		r := []rune(s[k:])[0]
		if !(unicode.IsLetter(r) || r == '%') {
			break
		}
		k += len(string(r))
	}
	unit := s[j:k]
	p.s = s[k:]
	n := &node{kind: 'n', num: v, unit: unit, text: s[:k]}
	switch {
	case unit == "" || unit == "%":
	case durUnits[unit] != 0:
		n.isDur = true
	default:
		return nil, fmt.Errorf("gate %q: unknown unit %q in %q; use ns, us, ms, s, m, h or %%", p.src, unit, s[:k])
	}
	return n, nil
}
