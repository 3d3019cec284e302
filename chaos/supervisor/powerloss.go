package supervisor

import (
	"context"
	"fmt"

	"github.com/evbench/evbench/chaos/faultfs"
)

// PowerLoss kills the store, then cuts the fault filesystem's power:
// every write no fsync covered is rolled back (tear: the last one torn).
// The caller Starts the store afterwards. It needs Spec.FaultFS.
func (s *Store) PowerLoss(ctx context.Context, tear bool) (faultfs.PowerCutReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero faultfs.PowerCutReport
	if s.fs == nil {
		return zero, fmt.Errorf("%s: managed store: PowerLoss needs the data on faultfs (Spec.FaultFS, --managed with a disk fault)", s.spec.Driver)
	}
	if c, err := s.running("PowerLoss"); err == nil {
		if err := s.killChild(c); err != nil {
			return zero, err
		}
	} else if s.closed {
		return zero, err
	}
	rep, err := s.fs.PowerCut(tear)
	if err != nil {
		return rep, fmt.Errorf("%s: managed store: power cut: %w", s.spec.Driver, err)
	}
	return rep, nil
}
