package main

import (
	"strings"
	"testing"
)

func TestParseServeTargets(t *testing.T) {
	cases := []struct {
		ups, listens []string
		want         string // "path upstream listen;..." or error substring prefixed by "!"
	}{
		{[]string{"127.0.0.1:5432"}, nil, "both 127.0.0.1:5432 127.0.0.1:0;"},
		{[]string{"producer=127.0.0.1:4222", "consumer=127.0.0.1:4222"}, []string{"127.0.0.1:14222"},
			"producer 127.0.0.1:4222 127.0.0.1:14222;consumer 127.0.0.1:4222 127.0.0.1:0;"},
		{nil, nil, "!--upstream: missing"},
		{[]string{"projector=127.0.0.1:1"}, nil, `!unknown path "projector"`},
		{[]string{"127.0.0.1:1"}, []string{"a", "b"}, "!--listen: 2 given for 1 --upstream"},
	}
	for _, tc := range cases {
		got, err := parseServeTargets(tc.ups, tc.listens)
		if strings.HasPrefix(tc.want, "!") {
			if err == nil || !strings.Contains(err.Error(), tc.want[1:]) {
				t.Errorf("parseServeTargets(%v, %v) error = %v, want %q", tc.ups, tc.listens, err, tc.want[1:])
			}
			continue
		}
		if err != nil {
			t.Fatalf("parseServeTargets(%v, %v): %v", tc.ups, tc.listens, err)
		}
		var b strings.Builder
		for _, x := range got {
			b.WriteString(x.path + " " + x.upstream + " " + x.listen + ";")
		}
		if b.String() != tc.want {
			t.Errorf("parseServeTargets(%v, %v) = %s, want %s", tc.ups, tc.listens, b.String(), tc.want)
		}
	}
}
