package dsnparam

import (
	"math"
	"testing"
	"time"
)

// TestParsers: each parser stores a valid value, and for an invalid one
// returns the one-line `want` error and leaves the destination alone.
func TestParsers(t *testing.T) {
	const keep = "untouched"
	for _, tc := range []struct {
		name, value string
		parse       func(p Param) (got any, err error)
		want        any    // stored value when valid
		wantErr     string // exact; "" = valid
	}{
		{"timeout", "2s", positive, 2 * time.Second, ""},
		{"timeout", "1ns", positive, time.Nanosecond, ""},
		{"timeout", "5", positive, nil, `d: DSN parameter timeout="5": want W`},
		{"timeout", "0s", positive, nil, `d: DSN parameter timeout="0s": want W`},
		{"timeout", "-1s", positive, nil, `d: DSN parameter timeout="-1s": want W`},
		{"timeout", "", positive, nil, `d: DSN parameter timeout="": want W`},
		{"linger", "0s", durationIn(0, time.Second), time.Duration(0), ""},
		{"linger", "1s", durationIn(0, time.Second), time.Second, ""},
		{"linger", "1001ms", durationIn(0, time.Second), nil, `d: DSN parameter linger="1001ms": want W`},
		{"linger", "-1ms", durationIn(0, math.MaxInt64), nil, `d: DSN parameter linger="-1ms": want W`},
		{"linger", "87600h", durationIn(0, math.MaxInt64), 87600 * time.Hour, ""},
		{"n", "1", intIn(1, 5), 1, ""},
		{"n", "5", intIn(1, 5), 5, ""},
		{"n", "+3", intIn(1, 5), 3, ""},
		{"n", "0", intIn(1, 5), nil, `d: DSN parameter n="0": want W`},
		{"n", "6", intIn(1, 5), nil, `d: DSN parameter n="6": want W`},
		{"n", "2.5", intIn(1, 5), nil, `d: DSN parameter n="2.5": want W`},
		{"n", "x", intIn(1, 5), nil, `d: DSN parameter n="x": want W`},
		{"n", "99999999999999999999", intIn(1, math.MaxInt), nil, `d: DSN parameter n="99999999999999999999": want W`},
		{"n", "0", intIn(0, 20), 0, ""},
		{"b", "true", boolean, true, ""},
		{"b", "0", boolean, false, ""},
		{"b", "maybe", boolean, nil, `d: DSN parameter b="maybe": want true or false`},
		{"mode", "poll", oneOf("sse", "poll"), "poll", ""},
		{"mode", "POLL", oneOf("sse", "poll"), nil, `d: DSN parameter mode="POLL": want sse or poll`},
		{"acks", "2", oneOf("all", "leader", "none"), nil, `d: DSN parameter acks="2": want all, leader or none`},
		{"x", "b", oneOf("a"), nil, `d: DSN parameter x="b": want a`},
		{"x", "a", oneOf("a"), "a", ""},
		{"q", "a b", func(p Param) (any, error) { return keep, p.Bad("a name without spaces") }, nil, `d: DSN parameter q="a b": want a name without spaces`},
	} {
		got, err := tc.parse(Param{Driver: "d", Name: tc.name, Value: tc.value})
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%s=%q: error %v, want %q", tc.name, tc.value, err, tc.wantErr)
			}
			if got != keep {
				t.Errorf("%s=%q: a failed parse stored %v", tc.name, tc.value, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s=%q: got %v, %v; want %v", tc.name, tc.value, got, err, tc.want)
		}
	}
}

// The adapters below run one parser on a destination holding a sentinel
// and return what it holds afterwards, "untouched" if the parser left it.

const durSentinel = -12345 * time.Hour

func positive(p Param) (any, error) {
	d := durSentinel
	err := p.Duration(&d, "W")
	return untouched(d, durSentinel), err
}

func durationIn(lo, hi time.Duration) func(Param) (any, error) {
	return func(p Param) (any, error) {
		d := durSentinel
		err := p.DurationIn(&d, lo, hi, "W")
		return untouched(d, durSentinel), err
	}
}

func intIn(lo, hi int) func(Param) (any, error) {
	return func(p Param) (any, error) {
		n := -12345
		err := p.Int(&n, lo, hi, "W")
		return untouched(n, -12345), err
	}
}

// boolean starts from true, so a bad parse that stored ParseBool's false
// shows.
func boolean(p Param) (any, error) {
	b := true
	err := p.Bool(&b)
	if err != nil {
		return untouched(b, true), err
	}
	return b, nil
}

func oneOf(options ...string) func(Param) (any, error) {
	return func(p Param) (any, error) {
		s := "sentinel"
		err := p.OneOf(&s, options...)
		return untouched(s, "sentinel"), err
	}
}

func untouched[T comparable](v, sentinel T) any {
	if v == sentinel {
		return "untouched"
	}
	return v
}
