package trainer

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trainloop"
)

// golden is trainer/testdata/adamw_golden.json, written by
// adamw_golden.py with PyTorch.
type golden struct {
	Optimizer struct {
		LR          float64   `json:"lr"`
		Betas       []float64 `json:"betas"`
		Eps         float64   `json:"eps"`
		WeightDecay float64   `json:"weight_decay"`
	} `json:"optimizer"`
	Schedule struct {
		Warmup int `json:"num_warmup_steps"`
		Total  int `json:"num_training_steps"`
	} `json:"schedule"`
	MaxGradNorm   float64  `json:"max_grad_norm"`
	NoiseParams   []string `json:"noise_params"`
	NoDecayParams []string `json:"no_decay_params"`
	Batches       []struct {
		InputIDs      [][]int32 `json:"input_ids"`
		TokenTypeIDs  [][]int32 `json:"token_type_ids"`
		AttentionMask [][]int32 `json:"attention_mask"`
		Labels        []int32   `json:"labels"`
	} `json:"batches"`
	Steps []struct {
		Step     int     `json:"step"`
		LR       float64 `json:"lr"`
		Loss     float64 `json:"loss"`
		GradNorm float64 `json:"grad_norm"`
	} `json:"steps"`
	FinalParams map[string]struct {
		Shape  []int     `json:"shape"`
		Sum    float64   `json:"sum"`
		First5 []float32 `json:"first5"`
	} `json:"final_params"`
	FinalParamsFile   string  `json:"final_params_file"`
	FinalLossOnBatch0 float64 `json:"final_loss_on_batch0"`
}

func flat(rows [][]int32) []int32 { return slices.Concat(rows...) }

// TestAdamWGolden runs the five optimiser steps of adamw_golden.py (AdamW
// lr 5e-3, weight decay 0.01 off biases and LayerNorm weights, warmup 2 of
// 5, clipping to 1.0, dropout off) from tiny-bert and compares every step's
// loss and gradient norm and the final weights with PyTorch's.
func TestAdamWGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/adamw_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.NoiseParams) == 0 || len(g.Steps) != 5 {
		t.Fatalf("golden file lacks noise_params or steps")
	}

	noDropout := func(c *model.Config) {
		c.HiddenDropoutProb, c.AttentionDropoutProb = 0, 0
		zero := 0.0
		c.ClassifierDropout = &zero
	}
	m, _, err := checkpoint.Load("../model/testdata/tiny-bert", model.SequenceClassification, checkpoint.Options{ConfigOverride: noDropout})
	if err != nil {
		t.Fatal(err)
	}
	// The Trainer's no-decay rule must pick the same tensors as the script's.
	var noDecay []string
	for _, tn := range m.Tensors {
		if tn.NoDecay {
			noDecay = append(noDecay, tn.Name)
		}
	}
	if !slices.Equal(noDecay, g.NoDecayParams) {
		t.Fatalf("no-decay tensors %v, golden %v", noDecay, g.NoDecayParams)
	}
	B, T := len(g.Batches[0].Labels), len(g.Batches[0].InputIDs[0])
	ws := m.NewWorkspace(B, T, 0)
	loop := trainloop.New(m, ws, trainloop.Config{
		LearningRate: g.Optimizer.LR, WeightDecay: g.Optimizer.WeightDecay,
		Beta1: g.Optimizer.Betas[0], Beta2: g.Optimizer.Betas[1], Epsilon: g.Optimizer.Eps,
		MaxGradNorm: g.MaxGradNorm, WarmupSteps: g.Schedule.Warmup, TotalSteps: g.Schedule.Total,
	})
	batches := make([]*model.Batch, len(g.Batches))
	for i, gb := range g.Batches {
		batches[i] = &model.Batch{B: B, T: T, InputIDs: flat(gb.InputIDs), TokenTypeIDs: flat(gb.TokenTypeIDs),
			AttentionMask: flat(gb.AttentionMask), Labels: gb.Labels}
	}
	for i, want := range g.Steps {
		st, err := loop.TrainStep(batches[i:i+1], []uint64{0})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("step %d: lr %.6g loss %.7f (torch %.7f) grad norm %.6f (torch %.6f)", want.Step, st.LR, st.Loss, want.Loss, st.GradNorm, want.GradNorm)
		if math.Abs(st.LR-want.LR) > 1e-12 {
			t.Errorf("step %d: lr %v, want %v", want.Step, st.LR, want.LR)
		}
		if math.Abs(st.Loss-want.Loss) > 1e-4 {
			t.Errorf("step %d: loss %.7f, want %.7f", want.Step, st.Loss, want.Loss)
		}
		if math.Abs(st.GradNorm-want.GradNorm) > 1e-4*want.GradNorm {
			t.Errorf("step %d: grad norm %.6f, want %.6f", want.Step, st.GradNorm, want.GradNorm)
		}
	}
	final, err := m.Forward(ws, batches[0], model.Pass{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(final-g.FinalLossOnBatch0) > 1e-4 {
		t.Errorf("loss on batch 0 after training %.7f, want %.7f", final, g.FinalLossOnBatch0)
	}

	// The listed parameters, and every parameter of the final file. The
	// key biases' gradient is zero in exact arithmetic, so their values are
	// each implementation's rounding noise amplified by Adam: skipped.
	for name, want := range g.FinalParams {
		got, ok := m.Tensor(name)
		if !ok {
			t.Fatalf("no tensor %s", name)
		}
		var sum float64
		for _, v := range got {
			sum += float64(v)
		}
		if math.Abs(sum-want.Sum) > 1e-4 {
			t.Errorf("%s: sum %.7f, want %.7f", name, sum, want.Sum)
		}
		for i, w := range want.First5 {
			if math.Abs(float64(got[i]-w)) > 1e-5 {
				t.Errorf("%s[%d] = %.7f, want %.7f", name, i, got[i], w)
			}
		}
	}
	ref, _, err := safetensors.ReadFile(filepath.Join("testdata", g.FinalParamsFile))
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	var worstName string
	for name, tensor := range ref {
		if slices.Contains(g.NoiseParams, name) {
			continue
		}
		got, ok := m.Tensor(name)
		if !ok || len(got) != len(tensor.F32) {
			t.Fatalf("tensor %s missing or of another size", name)
		}
		for i, w := range tensor.F32 {
			if d := math.Abs(float64(got[i] - w)); d > worst {
				worst, worstName = d, name
			}
		}
	}
	t.Logf("final parameters: max |Go − PyTorch| = %.3g (%s)", worst, worstName)
	if worst > 1e-5 {
		t.Errorf("final parameters differ from PyTorch's by up to %g (%s)", worst, worstName)
	}
}
