package chaos

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// CleanupOnSignals makes SIGINT and SIGTERM end the run cleanly. It returns a
// context derived from ctx that is cancelled on the first signal; at that
// moment c.Close also starts in the background, so proxies and toxics are
// removed even if the caller is stuck (the caller's own deferred Close then
// waits for that one to finish). A second signal gets Go's default handling
// (the process dies), so a hung cleanup can still be interrupted. stop
// releases the signal handler and must be called (defer it) when the run
// ends. Usage:
//
//	c, err := chaos.New(ctx, opts)
//	if err != nil { ... exit 3 }
//	defer c.Close()
//	ctx, stop := chaos.CleanupOnSignals(ctx, c)
//	defer stop()
func CleanupOnSignals(ctx context.Context, c *Chaos) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			signal.Stop(sigs) // a second signal kills the process
			cancel()
			if c != nil {
				_ = c.Close()
			}
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			cancel()
		})
	}
}
