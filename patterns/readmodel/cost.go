package readmodel

import (
	"crypto/sha256"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A projection's CPU cost is spent as rounds of sha256 over a 32-byte
// block seeded from the payload: real CPU work (a sleep would let another
// worker's core idle and make parallel rebuilds look better than they
// are), of a cost per round that does not depend on the payload's size, so
// one calibration serves every event.

// calibrationRounds is how many rounds one calibration trial times; the
// fastest of calibrationTrials trials is kept, the one least disturbed by
// other processes on a shared machine.
const (
	calibrationRounds = 20000
	calibrationTrials = 5
)

var (
	calibrateOnce sync.Once
	roundCost     time.Duration // one round's CPU time, measured once per process
)

// RoundCost is the measured cost of one burn round (calibrating on first use).
func RoundCost() time.Duration {
	calibrateOnce.Do(func() {
		// The trials run on one OS thread and are timed by its CPU clock
		// where there is one (Linux): a thread preempted by other processes
		// would otherwise make a round look dearer and the cost come out
		// short of what was asked.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var block [sha256.Size]byte
		best := time.Duration(1<<63 - 1)
		for t := 0; t < calibrationTrials; t++ {
			start := threadCPU()
			for i := 0; i < calibrationRounds; i++ {
				block = sha256.Sum256(block[:])
			}
			if d := threadCPU() - start; d > 0 && d < best {
				best = d
			}
		}
		sink.Store(uint64(block[0]))
		roundCost = max(best/calibrationRounds, time.Nanosecond)
	})
	return roundCost
}

// sink keeps the calibration's output alive.
var sink atomic.Uint64

// burner spends a fixed number of rounds per event.
type burner struct {
	rounds int
	out    byte // the last round's first byte: the work's result is used
}

// newBurner calibrates (once) and converts cost to rounds; cost <= 0 burns nothing.
func newBurner(cost time.Duration) burner {
	if cost <= 0 {
		return burner{}
	}
	return burner{rounds: max(1, int(cost/RoundCost()))}
}

// Rounds is how many burn rounds cost takes on this machine.
func Rounds(cost time.Duration) int { return newBurner(cost).rounds }

func (b *burner) spend(payload []byte) {
	if b.rounds == 0 {
		return
	}
	var block [sha256.Size]byte
	copy(block[:], payload)
	for i := 0; i < b.rounds; i++ {
		block = sha256.Sum256(block[:])
	}
	b.out ^= block[0]
}
