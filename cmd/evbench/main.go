// Command evbench benchmarks and chaos-tests event stores. See README.md.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/evbench/evbench/drivers"
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
	// Once the flags are parsed, and before any command runs, the secrets
	// they carry join the set everything printed is scrubbed of.
	PersistentPreRun: func(cmd *cobra.Command, args []string) { registerSecrets(cmd) },
}

// secretFlags are the flags whose values may hold a password or token.
var secretFlags = []string{"dsn", "toxiproxy"}

// registerSecrets registers the secrets of cmd's secretFlags and of
// DOCKER_HOST (read by --provision) with drivers.RegisterSecretsOf.
func registerSecrets(cmd *cobra.Command) {
	for _, name := range secretFlags {
		if f := cmd.Flags().Lookup(name); f != nil {
			drivers.RegisterSecretsOf(f.Value.String())
		}
	}
	drivers.RegisterSecretsOf(os.Getenv("DOCKER_HOST"))
}

func main() {
	os.Exit(execute(os.Stdout, os.Stderr))
}

// execute runs rootCmd (on os.Args, or what SetArgs set), prints a failure
// as one "evbench: ..." line on stderr and returns the exit code.
//
// No secret reaches either stream: everything the commands print goes
// through a scrubWriter, and the failure line through drivers.ScrubAll, so
// a password given in --dsn or --toxiproxy is masked even where a driver, a
// library or the runner quoted it (see docs/drivers.md, "Secrets").
func execute(stdout, stderr io.Writer) int {
	rootCmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return withCode(exitUsage, err) })
	rootCmd.SetOut(scrubWriter{stdout})
	rootCmd.SetErr(scrubWriter{stderr})
	strictCompletion()
	err := rootCmd.Execute()
	if err == nil {
		return exitOK
	}
	code := exitUsage // cobra's own errors (unknown command, bad args) are usage errors
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(stderr, "evbench: "+drivers.ScrubAll(msg))
	}
	return code
}

// strictCompletion makes `evbench completion SHELL` with an unknown shell a
// usage error. Cobra's default completion command (created here, after
// SetOut, because it keeps the writer of the moment) has no Run of its own,
// so cobra would print its help and exit 0 without checking its arguments.
func strictCompletion() {
	rootCmd.InitDefaultCompletionCmd()
	c, _, err := rootCmd.Find([]string{"completion"})
	if err != nil || c == rootCmd || c.Runnable() {
		return // disabled, or already made strict
	}
	c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
}

// scrubWriter masks the registered secrets (drivers.ScrubAll) in each
// Write. fmt's Fprint* write a whole line at once, so a secret is never
// split across two writes by them.
type scrubWriter struct{ w io.Writer }

func (s scrubWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, drivers.ScrubAll(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
