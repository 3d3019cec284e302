package measure

import (
	"strings"
	"testing"
)

func TestJudgeDelivery(t *testing.T) {
	exactly := Expect{Delivery: ExactlyOnce, Order: PerKey}
	loose := Expect{Delivery: AtLeastOnce, Order: NoOrder}
	tests := []struct {
		name string
		d    Delivery
		ok   bool
		want string // in the failures when !ok
	}{
		{"clean", Delivery{Expect: exactly, Checked: true, Delivered: 10}, true, ""},
		{"clean, pre-expect result", Delivery{Checked: true, Delivered: 10}, true, ""},
		{"lost fails whatever is expected", Delivery{Expect: loose, Checked: true, Lost: 1}, false, "1 acknowledged event(s) lost"},
		{"misrouted fails whatever is expected", Delivery{Expect: loose, Checked: true, Misrouted: 2}, false, "another key"},
		{"undrained is inconclusive", Delivery{Expect: loose, Undelivered: 3}, false, "inconclusive"},
		{"duplicates fail exactly-once", Delivery{Expect: exactly, Checked: true, Duplicated: 1}, false, "more than once"},
		{"duplicates fail a pre-expect result", Delivery{Checked: true, Duplicated: 1}, false, "more than once"},
		{"duplicates pass at-least-once", Delivery{Expect: loose, Checked: true, Duplicated: 1}, true, ""},
		{"reorders fail per-key", Delivery{Expect: exactly, Checked: true, Reordered: 1}, false, "per-key order"},
		{"reorders pass order none", Delivery{Expect: Expect{Delivery: ExactlyOnce, Order: NoOrder}, Checked: true, Reordered: 1}, true, ""},
		{"retry reorders never fail", Delivery{Expect: exactly, Checked: true, RetryReordered: 5}, true, ""},
		{"unexpected (an ambiguous append landed) never fails", Delivery{Expect: exactly, Checked: true, Unexpected: 5, Ambiguous: 5}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, failures := JudgeDelivery(tc.d)
			if ok != tc.ok || ok != (len(failures) == 0) {
				t.Fatalf("ok %v failures %q, want ok %v", ok, failures, tc.ok)
			}
			if !ok && !strings.Contains(strings.Join(failures, "\n"), tc.want) {
				t.Fatalf("failures %q lack %q", failures, tc.want)
			}
		})
	}
}
