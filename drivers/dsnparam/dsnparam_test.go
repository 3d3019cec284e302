package dsnparam

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestWalk(t *testing.T) {
	spec := Spec{Driver: "d", Names: []string{"b", "a", "c"}}
	stop := errors.New("d: stop at c")
	for _, tc := range []struct {
		query   string
		visited string // names fn saw, in order
		wantErr string // exact; "" = none
	}{
		{"", "", ""},
		{"c=3&a=1&b=2", "a,b,c", ""},
		{"a=", "a", ""}, // an empty value is one value: fn judges it
		{"b=2&zz=1&a=1", "a,b", `d: DSN parameter "zz" is unknown; known: a, b, c`},
		{"a=1&aa=1", "a", `d: DSN parameter "aa" is unknown; known: a, b, c`},
		{"b=1&b=2&c=3", "", `d: DSN parameter "b" is given 2 times; give it once`},
		{"a&a&a", "", `d: DSN parameter "a" is given 3 times; give it once`},
		{"zz=1&zz=2", "", `d: DSN parameter "zz" is unknown; known: a, b, c`}, // unknown wins over repeated
		{"c=1&a=1&b=1", "a,b,c", "d: stop at c"},                              // fn's error is returned as is
	} {
		t.Run(tc.query, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			err = spec.Walk(q, func(p Param) error {
				seen = append(seen, p.Name)
				if p.Driver != "d" || p.Value != q.Get(p.Name) {
					t.Errorf("fn got %+v", p)
				}
				if p.Name == "c" && strings.Contains(tc.wantErr, "stop") {
					return stop
				}
				return nil
			})
			if got := strings.Join(seen, ","); got != tc.visited {
				t.Errorf("visited %q, want %q", got, tc.visited)
			}
			if (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestKnownList(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Names: []string{"b", "a"}}, "a, b"},
		{Spec{Help: map[string]string{"poll_limit": "events per GET", "conns": "1-16 (default 1)"}}, "conns (1-16 (default 1)), poll_limit (events per GET)"},
		{Spec{Names: []string{"a", "c", "a"}, Help: map[string]string{"c": "see", "b": "bee"}}, "a, b (bee), c (see)"},
		{Spec{}, ""},
	} {
		if got := tc.spec.KnownList(); got != tc.want {
			t.Errorf("%+v: KnownList() = %q, want %q", tc.spec, got, tc.want)
		}
	}
}

// TestKnownFromHelp: a name only in Help is accepted, as http and refstore
// declare theirs.
func TestKnownFromHelp(t *testing.T) {
	spec := Spec{Driver: "d", Names: []string{"a"}, Help: map[string]string{"h": "help"}}
	q := url.Values{"a": {"1"}, "h": {"2"}}
	if err := spec.Walk(q, func(Param) error { return nil }); err != nil {
		t.Errorf("Walk(%v): %v", q, err)
	}
	q = url.Values{"x": {"1"}}
	if err := spec.Walk(q, func(Param) error { return nil }); err == nil || err.Error() != `d: DSN parameter "x" is unknown; known: a, h (help)` {
		t.Errorf("Walk(%v) = %v", q, err)
	}
}
