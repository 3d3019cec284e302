//go:build !linux

package pace

import (
	"context"
	"errors"
	"time"
)

// Without timerfd(2) and a wired-up nanosleep(2) the timerfd and nanosleep
// kinds are unavailable: NewWaiter and NewPreciseWaiter return the timer
// waiter and New reports the kind as unavailable.
const haveNanosleep = false

func nanosleep(time.Duration) {}

type timerfd struct{}

func newTimerfd() (*timerfd, error) { return nil, errors.New("timerfd needs Linux") }

func (*timerfd) close() error { return nil }

func (*timerfd) wait(context.Context, time.Time) error { return errors.New("timerfd needs Linux") }
