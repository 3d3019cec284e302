package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/evbench/evbench/runner"
	"github.com/evbench/evbench/scenarios"
)

// shardFlags are evbench run's flags for one part of a sharded run.
type shardFlags struct {
	shard          string
	runID          string
	startAt        string
	barrier        bool
	barrierTimeout time.Duration
	lead           int
}

func addShardFlags(fl *pflag.FlagSet, f *shardFlags) {
	fl.StringVar(&f.shard, "shard", "", "run the i-th of N equal parts of the workload, i/N from 0 (every N-th scheduled event, keys k with k % N == i); needs --barrier or --start-at")
	fl.StringVar(&f.runID, "run-id", "", "ID common to every shard of the run (default: the scenario and --start-at, or the scenario and N with --barrier)")
	fl.StringVar(&f.startAt, "start-at", "", "start the load at this RFC3339 wall-clock instant, the same on every shard (at most 1 s past, 24 h ahead)")
	fl.BoolVar(&f.barrier, "barrier", false, "agree the start through the store: each shard appends a marker and waits until it has seen N, then all start 2 s after the latest")
	fl.DurationVar(&f.barrierTimeout, "barrier-timeout", runner.DefaultBarrierTimeout, "how long --barrier waits for the other shards' markers")
	fl.IntVar(&f.lead, "lead", 0, "the shard that injects faults, consumer pauses and the rebuild (every shard records their windows)")
}

// config turns the flags into the runner's shard, or nil for an unsharded
// run; every problem is a one-line usage error.
func (f shardFlags) config(fl *pflag.FlagSet, sc *scenarios.Scenario, now time.Time) (*runner.Shard, error) {
	if f.shard == "" {
		for _, name := range []string{"run-id", "start-at", "barrier", "barrier-timeout", "lead"} {
			if fl.Changed(name) {
				return nil, fmt.Errorf("--%s belongs to a sharded run: add --shard i/N", name)
			}
		}
		return nil, nil
	}
	i, n, err := runner.ParseShard(f.shard)
	if err != nil {
		return nil, err
	}
	sh := &runner.Shard{Index: i, Count: n, Barrier: f.barrier, BarrierTimeout: f.barrierTimeout, Lead: f.lead, RunID: f.runID}
	if f.startAt != "" {
		if sh.StartAt, err = time.Parse(time.RFC3339Nano, f.startAt); err != nil {
			return nil, fmt.Errorf("--start-at %q: want an RFC3339 instant, e.g. %s", f.startAt, now.Add(time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339))
		}
	}
	if sh.RunID == "" {
		sh.RunID = runner.DefaultRunID(sc, n, sh.StartAt)
	}
	if err := runner.CheckShard(sh, sc, now); err != nil {
		return nil, err
	}
	return sh, nil
}

// printShardPlan says, before the load, what part of the run this shard is.
func printShardPlan(w io.Writer, sh *runner.Shard, sc *scenarios.Scenario) {
	if sh == nil {
		return
	}
	part := sc.ShardPart(sh.Index, sh.Count, sh.Index == sh.Lead)
	how := "--barrier"
	if !sh.StartAt.IsZero() {
		how = "--start-at " + sh.StartAt.UTC().Format(time.RFC3339Nano)
	}
	role := "records the lead's faults"
	if sh.Index == sh.Lead {
		role = "lead: injects faults, pauses, rebuild"
	}
	fmt.Fprintf(w, "evbench: shard %d/%d of run %s: %.0f events scheduled, %d keys, start by %s; %s\n",
		sh.Index, sh.Count, sh.RunID, float64(runner.NewSchedule(sc.Load).Stride(sh.Index, sh.Count).Total()), part.Events.Keys.Count, how, role)
}
