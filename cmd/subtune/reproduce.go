package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/subtune/subtune/reproduce"
)

// reproduceOptions are the flags of `subtune reproduce`: the pipeline's
// options and the profile overrides they are built from.
type reproduceOptions struct {
	o                              reproduce.Options
	src                            modelSource
	tasks, profile, analyses, rows string
	seeds                          []int
	epochs                         float64
	maxTrain                       int
	sched                          scheduling
}

const reproduceLong = `Runs Zhang, Liu & Shao (ACL 2023) end to end for each task: full fine-tuning
that records the trajectory, extraction of the intrinsic subspace, fine-tuning
in it, the random-subspace and freeze baselines, and a report (REPORT.md with
a Table-1-style table, singular-value spectra as PNG and SVG, results.json).

Finished stages are skipped and interrupted ones resume, so rerunning the same
command continues a reproduction. A finished run keeps its model, results and
trajectory; its resumable checkpoint (a model copy and AdamW's moments), which
nothing reads once the run is done, is removed. --profile quick (the default)
takes a few minutes on two cores: about 2.5 minutes of CPU time, 2 to 6
minutes of wall time as measured, depending on what else the cores run.
--profile paper uses the paper's settings as written (raw rows, 32 epochs with
a checkpoint each, 64 for MNLI, d = t, h = 16, run_glue's other defaults, five
seeds); REPORT.md's "Settings against the paper" table says where each comes
from.

--analyses adds the paper's analyses, each a section of REPORT.md with its
tables (mean ± std over seeds, every number traced to its run directories,
also in results.json) and figures:

  outliers    'subtune outliers' on every intrinsic run (Table 4, Fig. 4),
              and full fine-tuning with the outlier positions disabled
              against as many random positions (Table 3)
  transfer    every task fine-tuned in every other task's subspace: score
              and drop matrices and heatmaps, beside the random subspace
              (Sec. 4.3, Fig. 2; needs two tasks or more)
  unified     one subspace from the last checkpoint of every task (d = the
              number of tasks), its zero-shot variant without the target
              task, a random subspace of the same d, and Full (Table 2)
  dims        the intrinsic subspace cut to d = 8, 16, 32 (Tables 5-6)
  trajectory  the subspace of t = 4, 8, 16, 32 evenly spaced checkpoints;
              the first t checkpoints against t evenly spaced; and per
              epoch against per N steps at equal t: an extra full run per
              task and seed (full_epoch, Table 1's schedule and seed)
              records one checkpoint per epoch
  rows        raw, delta and centred rows of the trajectory matrix
  init_std    intrinsic runs with z's copies started at N(0, σ²) for
              σ = 0, 1/√h and 1 (the default), each compared with the
              default from the seeds

"all" runs every one. A run that equals one of Table 1's is reused; every
extra run is skipped when it has finished, and the log counts the runs
left with an ETA.`

func newReproduceCmd() *cobra.Command {
	ro := &reproduceOptions{}
	cmd := &cobra.Command{
		Use:   "reproduce",
		Short: "Run the paper's pipeline: full fine-tuning → subspace → intrinsic, random and freeze → REPORT.md",
		Long:  reproduceLong,
		RunE:  ro.run,
	}
	ro.addFlags(cmd.Flags())
	return graceful(cmd)
}

func (ro *reproduceOptions) addFlags(f *pflag.FlagSet) {
	o := &ro.o
	f.StringVar(&o.Model, "model_name_or_path", defaultModel, "pre-trained "+modelNameHelp+"; the default is the shipped one, looked up in the subtune repository above the working directory or the binary")
	ro.src.addFlags(f)
	f.StringVar(&ro.tasks, "tasks", "sst2", "comma-separated GLUE tasks (default sst2: the task on which the shipped model measurably beats random initialisation, see its card)")
	f.StringVar(&ro.profile, "profile", "quick", "settings: quick or paper")
	f.StringVar(&ro.analyses, "analyses", "", "comma-separated analyses beyond Table 1: outliers, transfer, unified, dims, trajectory, rows, init_std, or all")
	f.StringVar(&ro.rows, "rows", "", "rows of the trajectory matrix: raw (the checkpoints, the paper's Eq. 2), delta (θk − θ0) or centered (default: the profile's)")
	f.IntSliceVar(&ro.seeds, "seeds", nil, "seeds (default: the profile's)")
	f.Float64Var(&ro.epochs, "num_train_epochs", 0, "epochs of every run (default: the profile's)")
	f.IntVar(&ro.maxTrain, "max_train_samples", 0, "training examples per task (default: the profile's; 0: all)")
	f.StringVar(&o.OutputDir, "output_dir", "", "where runs and the report go (default runs/reproduce-<profile>)")
	f.StringVar(&o.DataDir, "data_dir", "", "GLUE root or task folder (default: the shipped data)")
	f.IntVar(&o.Threads, "threads", 0, "threads (0: all cores), shared among --jobs")
	f.BoolVar(&o.BF16, "bf16", false, "every run in bf16 mixed precision (finetune --bf16; needs AVX512_BF16 and a build with oneDNN)")
	ro.sched.addFlags(f, o)
}

// options completes the pipeline's options from the flags and checks every
// value, before the model is looked for (or fetched).
func (ro *reproduceOptions) options(cmd *cobra.Command) error {
	o := &ro.o
	p, err := reproduce.LookupProfile(ro.profile)
	if err != nil {
		return err
	}
	if o.Model, err = shippedDefault(cmd.Flags(), "model_name_or_path"); err != nil {
		return err
	}
	if len(ro.seeds) > 0 {
		p.Seeds = ro.seeds
	}
	if cmd.Flags().Changed("num_train_epochs") {
		p.Epochs = ro.epochs
	}
	if cmd.Flags().Changed("max_train_samples") {
		p.MaxTrainSamples = ro.maxTrain
	}
	if cmd.Flags().Changed("rows") {
		p.Rows = ro.rows
	}
	o.Profile = p
	o.Tasks = reproduce.Tasks(ro.tasks)
	if o.Analyses, err = reproduce.ParseAnalyses(ro.analyses); err != nil {
		return fmt.Errorf("--analyses: %w", err)
	}
	if len(o.Tasks) == 0 {
		return fmt.Errorf("--tasks is empty")
	}
	if o.OutputDir == "" {
		o.OutputDir = filepath.Join("runs", "reproduce-"+p.Name)
	}
	o.Command = "subtune " + strings.Join(os.Args[1:], " ")
	return o.Validate()
}

func (ro *reproduceOptions) run(cmd *cobra.Command, args []string) error {
	if err := ro.options(cmd); err != nil {
		return err
	}
	o := &ro.o
	var err error
	if o.Model, err = ro.src.resolve(cmd.Context(), o.Model, cmd.ErrOrStderr()); err != nil {
		return err
	}
	if err := ro.sched.apply(cmd, o); err != nil {
		return err
	}
	if ro.sched.plan {
		return printPlan(cmd.OutOrStdout(), *o)
	}
	o.Log = cmd.ErrOrStderr()
	setThreads(o.Threads)
	logKernels(o.Log)
	start := time.Now()
	res, err := reproduce.Run(cmd.Context(), *o)
	if err != nil || res == nil { // a single stage, or jobs submitted
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "done in %s: %s\n", time.Since(start).Round(time.Second), filepath.Join(o.OutputDir, "REPORT.md"))
	return nil
}
