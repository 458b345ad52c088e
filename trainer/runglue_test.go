package trainer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/optim"
	"github.com/subtune/subtune/trainloop"
)

// TestSchedulesDriveTraining: each --lr_scheduler_type sets the learning
// rate the Trainer logs after every step (that of the next step).
func TestSchedulesDriveTraining(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(1))
	for _, typ := range optim.ScheduleTypes {
		t.Run(typ, func(t *testing.T) {
			out := t.TempDir()
			a := tinyArgs(modelDir, out)
			a.DoEval, a.MaxTrainSamples, a.MaxSteps, a.WarmupSteps = false, 16, 6, 2
			a.SaveStrategy, a.LRSchedulerType = "no", typ
			var log strings.Builder
			if _, err := Finetune(context.Background(), a, &log, Hooks{}); err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			var st State
			readJSON(t, filepath.Join(out, "trainer_state.json"), &st)
			s, _ := optim.NewSchedule(typ, 2, 6, a.LearningRate)
			n := 0
			for _, l := range st.LogHistory {
				lr, ok := l["learning_rate"]
				if !ok {
					continue
				}
				n++
				if want := a.LearningRate * s.Factor(int(l["step"])); math.Abs(lr-want) > 1e-18 {
					t.Errorf("step %v: learning_rate %v, want %v", l["step"], lr, want)
				}
			}
			if n != 6 {
				t.Errorf("%d learning rates logged, want 6", n)
			}
		})
	}
}

// TestTokenNotWritten: the hub token is an argument (and may come from a
// JSON file) but never reaches training_args.json.
func TestTokenNotWritten(t *testing.T) {
	a := DefaultArgs()
	a.Token = "hf_secret"
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "hf_secret") || strings.Contains(string(data), `"token"`) {
		t.Errorf("training_args.json holds the token: %s", data)
	}
	if !strings.Contains(string(data), `"model_revision"`) {
		t.Errorf("training_args.json lacks model_revision: %s", data)
	}
}

// TestResumeClassifiesRunGlueArgs: the options that decide the final
// weights must match on resume, those that do not may change, and options
// tagged ifset do not appear while unset (so older checkpoints resume).
func TestResumeClassifiesRunGlueArgs(t *testing.T) {
	base := trainloop.FlagSettings(DefaultArgs())
	for _, k := range []string{"--load_best_model_at_end", "--metric_for_best_model", "--greater_is_better", "--fp16", "--bf16",
		"--token", "--cache_dir", "--model_revision", "--report_to", "--logging_strategy", "--use_fast_tokenizer", "--overwrite_cache"} {
		if _, ok := base[k]; ok {
			t.Errorf("%s recorded by a run that does not set it", k)
		}
	}
	if base["--lr_scheduler_type"] != "linear" {
		t.Errorf("--lr_scheduler_type not recorded: %v", base)
	}
	a := DefaultArgs()
	yes := true
	a.LoadBestModelAtEnd, a.MetricForBestModel, a.GreaterIsBetter = true, "accuracy", &yes
	a.Token, a.CacheDir, a.LoggingStrategy = "t", "c", "epoch"
	s := trainloop.FlagSettings(a)
	for k, want := range map[string]string{"--load_best_model_at_end": "true", "--metric_for_best_model": "accuracy", "--greater_is_better": "true"} {
		if s[k] != want {
			t.Errorf("%s = %q, want %q", k, s[k], want)
		}
	}
	if err := trainloop.CheckResume("ck", base, s); err == nil || !strings.Contains(err.Error(), "--load_best_model_at_end not given (now true)") {
		t.Errorf("trainloop.CheckResume = %v", err)
	}
}

// TestLoggingStrategy: --logging_strategy epoch logs the loss once per
// epoch, no never.
func TestLoggingStrategy(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(1))
	for _, tc := range []struct {
		strategy string
		want     int
	}{{"steps", 6}, {"epoch", 3}, {"no", 0}} {
		out := t.TempDir()
		a := tinyArgs(modelDir, out)
		a.DoEval, a.MaxTrainSamples, a.NumTrainEpochs, a.SaveStrategy, a.LoggingStrategy = false, 16, 3, "no", tc.strategy
		var log strings.Builder
		if _, err := Finetune(context.Background(), a, &log, Hooks{}); err != nil {
			t.Fatalf("%v\n%s", err, log.String())
		}
		var st State
		readJSON(t, filepath.Join(out, "trainer_state.json"), &st)
		n := 0
		for _, l := range st.LogHistory {
			if _, ok := l["loss"]; ok {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("--logging_strategy %s: %d losses logged, want %d", tc.strategy, n, tc.want)
		}
	}
}

// TestLoadBestModelAtEnd: with the best eval loss defined as the highest
// (so that it is not the last step's), the run records the best step in
// trainer_state.json, keeps its checkpoint through rotation, and ends with
// its weights: the final evaluation scores what the best step scored.
func TestLoadBestModelAtEnd(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(1))
	for _, limit := range []int{2, 1} {
		out := t.TempDir()
		a := tinyArgs(modelDir, out)
		a.MaxTrainSamples, a.MaxSteps = 16, 4
		a.EvalStrategy, a.EvalSteps, a.SaveStrategy, a.SaveSteps, a.SaveTotalLimit = "steps", 1, "steps", 1, limit
		yes := true
		a.LoadBestModelAtEnd, a.MetricForBestModel, a.GreaterIsBetter = true, "eval_loss", &yes
		var log strings.Builder
		res, err := Finetune(context.Background(), a, &log, Hooks{})
		if err != nil {
			t.Fatalf("%v\n%s", err, log.String())
		}
		var st State
		readJSON(t, filepath.Join(out, "trainer_state.json"), &st)
		bestStep, bestLoss := 0, math.Inf(-1)
		for _, l := range st.LogHistory {
			if v, ok := l["eval_loss"]; ok && v > bestLoss {
				bestStep, bestLoss = int(l["step"]), v
			}
		}
		if st.BestGlobalStep == nil || *st.BestGlobalStep != bestStep || st.BestMetric == nil || *st.BestMetric != bestLoss {
			t.Fatalf("limit %d: best step %v metric %v, want %d %v", limit, st.BestGlobalStep, st.BestMetric, bestStep, bestLoss)
		}
		bestDir := filepath.Join(out, fmt.Sprintf("checkpoint-%d", bestStep))
		if st.BestModelCheckpoint == nil || *st.BestModelCheckpoint != bestDir {
			t.Errorf("best_model_checkpoint %v, want %s", st.BestModelCheckpoint, bestDir)
		}
		want := []string{bestDir}
		if limit == 2 && bestStep != 4 {
			want = append(want, filepath.Join(out, "checkpoint-4"))
		}
		if got := trainloop.Checkpoints(out); !slices.Equal(got, want) {
			t.Errorf("limit %d: checkpoints %v, want %v", limit, got, want)
		}
		if res.Eval["eval_loss"] != bestLoss {
			t.Errorf("limit %d: the final evaluation scores %v, the best step %d scored %v", limit, res.Eval["eval_loss"], bestStep, bestLoss)
		}
		if !strings.Contains(log.String(), "Loading best model from "+bestDir) {
			t.Errorf("the log does not say the best model was loaded:\n%s", log.String())
		}
		t.Logf("limit %d: best step %d of 4", limit, bestStep)
	}
}

// TestEvalBatchSize: --per_device_eval_batch_size sets how many examples
// each evaluation forward pass holds, without changing the predictions.
func TestEvalBatchSize(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(1))
	var first *Predictions
	for _, tc := range []struct{ batch, passes int }{{16, 2}, {5, 7}, {32, 1}, {1, 32}} {
		a := tinyArgs(modelDir, t.TempDir())
		a.DoTrain, a.PerDeviceEvalBatchSize = false, tc.batch
		if err := a.Validate(); err != nil {
			t.Fatal(err)
		}
		r := &run{a: a, log: io.Discard}
		if err := r.loadData(); err != nil {
			t.Fatal(err)
		}
		if err := r.loadModel(); err != nil {
			t.Fatal(err)
		}
		set := r.evalSets[0]
		p, err := predict(r.m, r.ws, r.bt, set.d, r.a.PerDeviceEvalBatchSize)
		if err != nil {
			t.Fatal(err)
		}
		if p.Batches != tc.passes {
			t.Errorf("batch size %d: %d forward passes over %d examples, want %d", tc.batch, p.Batches, set.d.Len(), tc.passes)
		}
		met, err := scoreMetrics(r.task, r.regression, set.d, p)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = p
		} else if !slices.Equal(p.Classes, first.Classes) || math.Abs(p.Loss-first.Loss) > 1e-6 {
			t.Errorf("batch size %d: predictions or loss changed (%v vs %v)", tc.batch, p.Loss, first.Loss)
		}
		if got := met["eval_steps_per_second"] * p.Seconds; math.Abs(got-float64(tc.passes)) > 0.01*float64(tc.passes)+0.01 {
			t.Errorf("batch size %d: eval_steps_per_second × runtime = %v, want %d steps", tc.batch, got, tc.passes)
		}
	}
}
