package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/evbench/evbench/plan"
	"github.com/evbench/evbench/probe"
	"github.com/evbench/evbench/reports/measure"
)

func init() {
	var peak, cost float64
	var retention, eventSize string
	var markdown bool
	cmd := &cobra.Command{
		Use:   "plan RESULT",
		Short: "Capacity figures from a run or probe: storage per day and retention, rebuild time, headroom, cost",
		Long: `Plan turns a measurement into capacity figures, each with the measurement it came from:

  evbench plan results/rebuild-refstore-X --peak-rate 5000 --retention 30d
  evbench plan results/probe-X --peak-rate 5000 --cost-per-hour 0.40

RESULT is a run result directory (result.json) or a probe directory (probe.json),
or either file. Figures: bytes per event (measured by the rebuild, else the
scenario's events.size midpoint, or --event-size), storage per day at --peak-rate
and for --retention, the maximum rebuild duration after a failure (the retention's
events at the measured rebuild rate: needs a run with consumers.rebuild=end),
headroom (the probe's max sustainable rate over the peak; a run's achieved rate is
used and labelled when there is no probe), and cost per million events at the
sustainable rate (--cost-per-hour). See docs/reports.md, "Capacity planning".

Exit codes: 0 the plan was made; 2 bad usage, unreadable input, or a figure asked
for needs a measurement the input lacks (the message names the flag and the fix).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := plan.Input{PeakRate: peak, CostPerHour: cost}
			if retention != "" {
				d, err := plan.ParseRetention(retention)
				if err != nil {
					return usageErr("%v", err)
				}
				in.Retention = d
			}
			if eventSize != "" {
				n, err := parseBytes(eventSize)
				if err != nil || n == 0 {
					return usageErr("--event-size %q: want bytes per event > 0 (e.g. 700, 2KiB)", eventSize)
				}
				in.EventSize = n
			}
			var err error
			if in.Result, in.Probe, err = readPlanInput(args[0]); err != nil {
				return withCode(exitUsage, err)
			}
			p, err := plan.Make(in)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("plan %s: %w", args[0], err))
			}
			if markdown {
				fmt.Fprint(cmd.OutOrStdout(), p.Markdown())
			} else {
				fmt.Fprint(cmd.OutOrStdout(), p.Text())
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Float64Var(&peak, "peak-rate", 0, "expected peak append rate, events/s (storage per day, headroom)")
	f.StringVar(&retention, "retention", "", "how long events are kept: days (30d) or a Go duration (720h); needs --peak-rate")
	f.StringVar(&eventSize, "event-size", "", "bytes per event (e.g. 700, 2KiB) instead of the measured size")
	f.Float64Var(&cost, "cost-per-hour", 0, "what the store costs per hour, any currency (cost per million events)")
	f.BoolVar(&markdown, "markdown", false, "print a Markdown section for a report instead of text")
	rootCmd.AddCommand(cmd)
}

// readPlanInput reads RESULT: a directory with result.json, probe.json or
// both, or one of those files.
func readPlanInput(path string) (*measure.Result, *probe.Result, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s does not exist; give a run result directory (result.json) or a probe directory (probe.json)", path)
	}
	if !fi.IsDir() {
		if filepath.Base(path) == probe.FileName {
			pr, err := probe.ReadResult(path)
			return nil, pr, err
		}
		r, err := measure.ReadResult(path)
		return r, nil, err
	}
	var r *measure.Result
	var pr *probe.Result
	if exists(filepath.Join(path, probe.FileName)) {
		if pr, err = probe.ReadResult(path); err != nil {
			return nil, nil, err
		}
	}
	if exists(filepath.Join(path, measure.ResultFile)) {
		if r, err = measure.ReadResult(path); err != nil {
			return nil, nil, err
		}
	}
	if r == nil && pr == nil {
		return nil, nil, errors.New(path + " holds neither result.json nor probe.json; give a run result directory (evbench run --out DIR) or a probe directory")
	}
	return r, pr, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
