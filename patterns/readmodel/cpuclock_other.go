//go:build !linux

package readmodel

import "time"

// threadCPU falls back to the wall clock where no thread CPU clock is read.
func threadCPU() time.Duration { return time.Duration(time.Now().UnixNano()) }
