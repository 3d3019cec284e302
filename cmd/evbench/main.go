// Command evbench benchmarks and chaos-tests event stores. See README.md.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes are a public contract (README "Exit codes").
const (
	exitOK         = 0
	exitGateFailed = 1 // the run completed but a gate failed or events were lost
	exitUsage      = 2 // bad usage or invalid scenario / expression
	exitIncomplete = 3 // the run could not complete (store unreachable, interrupted)
)

// exitError carries an exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func usageErr(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

var rootCmd = &cobra.Command{
	Use:           "evbench",
	Short:         "Benchmark and chaos-test event stores: commit latency, catch-up, rebuild, delivery",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	rootCmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return withCode(exitUsage, err) })
	err := rootCmd.Execute()
	if err == nil {
		os.Exit(exitOK)
	}
	code := exitUsage // cobra's own errors (unknown command, bad args) are usage errors
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(os.Stderr, "evbench: "+msg)
	}
	os.Exit(code)
}
