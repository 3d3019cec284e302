package main

import (
	"strings"
	"testing"
)

// TestCompletion: cobra's default `completion` command is enabled and
// prints a script for each documented shell. Cobra creates the command on
// the first Execute with the output writer of that moment, so it is
// removed first and recreated here with this test's writer.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			dropCompletionCmd()
			code, stdout, stderr := runCLI(t, "completion", shell)
			if code != exitOK {
				t.Fatalf("exit %d; stderr: %s", code, stderr)
			}
			if !strings.Contains(stdout, "evbench") || len(stdout) < 200 {
				t.Fatalf("no %s completion script for evbench:\n%s", shell, stdout)
			}
		})
	}
	t.Run("unknown shell", func(t *testing.T) {
		dropCompletionCmd()
		code, _, stderr := runCLI(t, "completion", "tcsh")
		if code != exitUsage || !strings.Contains(stderr, "tcsh") {
			t.Fatalf("exit %d, stderr %q; want a usage error naming tcsh", code, stderr)
		}
	})
}

func dropCompletionCmd() {
	for _, c := range rootCmd.Commands() {
		if c.Name() == "completion" {
			rootCmd.RemoveCommand(c)
		}
	}
}
