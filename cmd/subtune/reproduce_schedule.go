package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/subtune/subtune/reproduce"
)

// scheduling holds reproduce's flags that say where and how its stages
// run, none of which changes a result.
type scheduling struct {
	plan      bool
	slurmArgs string
}

func (s *scheduling) addFlags(f *pflag.FlagSet, o *reproduce.Options) {
	f.BoolVar(&s.plan, "plan", false, "print the stages as JSON lines (id, command, depends_on, cost in examples × epochs, done) and run nothing")
	f.StringVar(&o.Stage, "stage", "", "run this stage alone (an id of --plan), once the stages it depends on have finished")
	f.IntVar(&o.Jobs, "jobs", 1, "stages run at once on this machine, each with threads/jobs threads")
	f.StringVar(&o.Scheduler, "scheduler", "", "slurm: submit every pending stage as a Slurm job (--cpus-per-task = threads/jobs)")
	f.StringVar(&s.slurmArgs, "slurm_args", "", `more sbatch options for every job, e.g. "--partition=cpu --time=12:00:00"`)
	f.DurationVar(&o.Poll, "slurm_poll", 10*time.Second, "with --scheduler slurm: how often to look at the jobs while waiting")
	f.BoolVar(&o.Detach, "detach", false, "with --scheduler slurm: submit and return; run the same command again to collect")
}

// notStageFlags are the flags a stage's command leaves out: they say how
// to run the graph, or are given again resolved (the model, the folders),
// or are secret.
var notStageFlags = []string{"plan", "stage", "jobs", "scheduler", "slurm_args", "slurm_poll", "detach", "threads",
	"model_name_or_path", "output_dir", "data_dir", "model_revision", "cache_dir", "token"}

// apply checks the flags and sets the options a stage's command needs.
func (s *scheduling) apply(cmd *cobra.Command, o *reproduce.Options) error {
	if o.Jobs < 1 {
		return fmt.Errorf("--jobs %d: want 1 or more", o.Jobs)
	}
	if o.Scheduler != "" && o.Scheduler != reproduce.SchedulerSlurm {
		return fmt.Errorf("--scheduler %q: want slurm, or leave it out to run here", o.Scheduler)
	}
	if o.Detach && o.Scheduler == "" {
		return fmt.Errorf("--detach needs --scheduler slurm")
	}
	var err error
	if o.SlurmArgs, err = reproduce.SplitArgs(s.slurmArgs); err != nil {
		return fmt.Errorf("--slurm_args: %w", err)
	}
	if o.Executable, err = os.Executable(); err != nil {
		return err
	}
	args := []string{"reproduce"}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if slices.Contains(notStageFlags, f.Name) {
			return
		}
		v := f.Value.String()
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			v = strings.Join(sv.GetSlice(), ",")
		}
		args = append(args, "--"+f.Name+"="+v)
	})
	args = append(args, "--model_name_or_path="+abs(o.Model), "--output_dir="+abs(o.OutputDir))
	if o.DataDir != "" {
		args = append(args, "--data_dir="+abs(o.DataDir))
	}
	o.StageArgs = args
	return nil
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// printPlan writes one JSON line per stage.
func printPlan(w io.Writer, o reproduce.Options) error {
	stages, err := reproduce.Plan(o)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	for _, s := range stages {
		if err := enc.Encode(s); err != nil {
			return err
		}
	}
	return nil
}
