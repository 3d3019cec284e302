package runner

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/memory"
	"github.com/evbench/evbench/reports/measure"
)

// noLog is the memory driver declaring that it cannot replay, as a queue
// or an MQTT broker does.
type noLog struct{ *memory.Driver }

func (noLog) ReplayUnsupported() error {
	return fmt.Errorf("test store keeps no log: %w", drivers.ErrUnsupported)
}

func TestRebuildUnsupported(t *testing.T) {
	var logged []string
	logf := func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }

	res := &measure.Result{}
	if rebuildUnsupported(res, memory.New(), logf) {
		t.Fatal("a driver that replays was reported as unable to")
	}
	if res.RebuildUnsupported != "" || len(res.Notes) != 0 || len(logged) != 0 {
		t.Fatalf("a replaying driver left traces: %+v %v", res, logged)
	}

	if !rebuildUnsupported(res, noLog{memory.New()}, logf) {
		t.Fatal("a driver declaring no replay was not skipped")
	}
	if !strings.Contains(res.RebuildUnsupported, "keeps no log") || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "consumers.rebuild: end skipped") {
		t.Fatalf("result does not say why: rebuild_unsupported=%q notes=%q", res.RebuildUnsupported, res.Notes)
	}
	if len(logged) != 1 {
		t.Fatalf("logged %q, want one line", logged)
	}
	if !errors.Is(drivers.CheckReplay(noLog{memory.New()}), drivers.ErrUnsupported) {
		t.Fatal("CheckReplay does not wrap ErrUnsupported")
	}
}
