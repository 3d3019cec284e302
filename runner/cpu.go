package runner

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

// cpuClock measures the process's CPU time (user + system, getrusage) over
// the load phase, for the client's own verdict: a harness that used most of
// the machine was the limit, whatever the store did.
type cpuClock struct {
	wall0, wall1 time.Time
	cpu0, cpu1   time.Duration
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPUClock() cpuClock { return cpuClock{wall0: time.Now(), cpu0: processCPU()} }

func (c *cpuClock) stop() { c.wall1, c.cpu1 = time.Now(), processCPU() }

// percent is CPU time over wall time and cores, in percent (0 if not stopped).
func (c cpuClock) percent(cores int) float64 {
	wall := c.wall1.Sub(c.wall0)
	if wall <= 0 || cores <= 0 {
		return 0
	}
	return 100 * float64(c.cpu1-c.cpu0) / (float64(wall) * float64(cores))
}

// writeHeapProfile writes the live heap (after a GC) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		return fmt.Errorf("heap profile %s: %w", path, err)
	}
	return nil
}
