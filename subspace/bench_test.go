package subspace

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/nn"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trainloop"
	"github.com/subtune/subtune/trajectory"
)

// bertBaseLayer is a one-layer model with BERT-base's layer (D = 7,087,872)
// and a token vocabulary small enough not to matter.
func bertBaseLayer(b *testing.B) *model.Model {
	c := model.DefaultConfig("bert")
	c.NumHiddenLayers, c.VocabSize = 1, 64
	c.ID2Label = map[int]string{0: "a", 1: "b"}
	m, err := model.New(c, model.SequenceClassification)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	for i := range m.Grad {
		m.Grad[i] = float32(i%13) * 1e-3
	}
	return m
}

// BenchmarkStep is what a subspace step adds to a full one on a BERT-base
// layer at d = 32: Materialize (θ = θ0 + Vᵀz̄) and ProjectGrad (∇z = V∇θ/h).
// GB/s counts the bytes both passes must move: the basis twice, θ0 and θ
// once, the gradient once.
func BenchmarkStep(b *testing.B) {
	const d = 32
	m := bertBaseLayer(b)
	D := m.Config.LayerSize()
	for _, tc := range []struct {
		kind string
		dt   safetensors.DType
	}{{KindDense, safetensors.F32}, {KindDense, safetensors.BF16}, {KindFastfood, ""}} {
		b.Run(fmt.Sprintf("%s-%s", tc.kind, tc.dt), func(b *testing.B) {
			basis, err := NewRandomBasis(tc.kind, 1, D, d, 1, tc.dt)
			if err != nil {
				b.Fatal(err)
			}
			r, err := New(m, basis, DefaultOptions())
			if err != nil {
				b.Fatal(err)
			}
			moved := float64(2*basis.Bytes() + 4*3*int64(D))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r.Materialize(m)
				r.ProjectGrad(m)
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(sec*1e3, "ms/step")
			b.ReportMetric(moved/sec/1e9, "GB/s")
		})
	}
}

// BenchmarkTrainStepBase times whole optimiser steps of BERT-base (12×768,
// batch 32 × 128 tokens, dropout, clipping, AdamW) through the trainer's
// loop, full fine-tuning against subspace fine-tuning at d = 32, h = 16 (a
// dense basis in bf16 or f32, or Fastfood) or the Freeze baseline. The two
// runs alternate step by step, so that the load of a shared machine falls
// on both alike; ratio is subspace/full (the subspace path should cost at most 15%
// over full fine-tuning), and
// hook_ms is the part spent in Materialize and ProjectGrad.
func BenchmarkTrainStepBase(b *testing.B) {
	const d = 32
	c := model.DefaultConfig("bert")
	c.SetLabels([]string{"0", "1"})
	newModel := func() *model.Model {
		m, err := model.New(c, model.SequenceClassification)
		if err != nil {
			b.Fatal(err)
		}
		m.Init(1)
		return m
	}
	batch := &model.Batch{B: 32, T: 128, InputIDs: make([]int32, 32*128), Labels: make([]int32, 32)}
	for i := range batch.InputIDs {
		batch.InputIDs[i] = int32(1000 + (i*7919)%20000)
	}
	for i := range batch.Labels {
		batch.Labels[i] = int32(i % 2)
	}
	L, D := c.NumHiddenLayers, c.LayerSize()
	full := newModel()
	ws := full.NewWorkspace(32, 128, 0) // the runs take turns, so they can share it
	fullLoop := trainloop.New(full, ws, trainloop.Config{LearningRate: 2e-5, MaxGradNorm: 1, TotalSteps: 1000})
	for _, tc := range []struct {
		name, kind string
		dt         safetensors.DType
	}{{"dense-bf16", KindDense, safetensors.BF16}, {"dense-f32", KindDense, safetensors.F32}, {"fastfood", KindFastfood, ""}, {"freeze", "", ""}} {
		b.Run(tc.name, func(b *testing.B) {
			m := newModel()
			th := &timedHook{}
			if tc.kind == "" {
				th.StepHook = Freeze{}
			} else {
				basis, err := NewRandomBasis(tc.kind, L, D, d, 1, tc.dt)
				if err != nil {
					b.Fatal(err)
				}
				r, err := New(m, basis, DefaultOptions())
				if err != nil {
					b.Fatal(err)
				}
				th.StepHook = r
				th.BeforeForward()
			}
			loop := trainloop.New(m, ws, trainloop.Config{LearningRate: 2e-5, MaxGradNorm: 1, TotalSteps: 1000, Hook: th})
			step := func(l *trainloop.Loop, i int) time.Duration {
				start := time.Now()
				if _, err := l.TrainStep([]*model.Batch{batch}, []uint64{uint64(i)}); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			step(fullLoop, 0)
			step(loop, 0)
			th.spent = 0
			var tFull, tSub time.Duration
			i := 0
			for b.Loop() {
				i++
				tFull += step(fullLoop, i)
				tSub += step(loop, i)
			}
			ms := func(t time.Duration) float64 { return t.Seconds() * 1e3 / float64(i) }
			b.ReportMetric(ms(tFull), "full_ms")
			b.ReportMetric(ms(tSub), "sub_ms")
			b.ReportMetric(ms(th.spent), "hook_ms")
			b.ReportMetric(tSub.Seconds()/tFull.Seconds(), "ratio")
		})
	}
}

// timedHook measures the time a hook's passes take inside the loop.
type timedHook struct {
	trainloop.StepHook
	spent time.Duration
}

func (t *timedHook) BeforeForward() {
	s := time.Now()
	t.StepHook.BeforeForward()
	t.spent += time.Since(s)
}

func (t *timedHook) AfterBackward() {
	s := time.Now()
	t.StepHook.AfterBackward()
	t.spent += time.Since(s)
}

var (
	extractLayers = flag.Int("extract_layers", 2, "BenchmarkExtract: encoder layers of the BERT-base-wide trajectory")
	extractT      = flag.Int("extract_t", 8, "BenchmarkExtract: checkpoints")
	extractDir    = flag.String("extract_dir", "", "BenchmarkExtract: trajectory directory, kept and reused (default: a temporary one)")
)

// BenchmarkExtract extracts the layer subspaces of a trajectory of
// BERT-base-sized layers (D = 7,087,872) recorded with the trajectory
// package in float32, and reports the read throughput over both passes.
// The default is small (2 layers, t = 8, 1.9 GB); -extract_layers 12
// -extract_t 32 is the paper's BERT-base setting (10.9 GB, plus θ0).
func BenchmarkExtract(b *testing.B) {
	dir := *extractDir
	if dir == "" {
		dir = filepath.Join(b.TempDir(), "trajectory")
	}
	if _, err := os.Stat(filepath.Join(dir, trajectory.ManifestFile)); err != nil {
		c := model.DefaultConfig("bert")
		c.NumHiddenLayers, c.VocabSize = *extractLayers, 64
		c.SetLabels([]string{"0", "1"})
		m, err := model.New(c, model.SequenceClassification)
		if err != nil {
			b.Fatal(err)
		}
		m.Init(1)
		w, err := trajectory.Create(dir, m, trajectory.Options{Task: "bench", Schedule: "epoch"})
		if err != nil {
			b.Fatal(err)
		}
		// Each checkpoint moves every weight a little, along a few shared
		// directions plus noise: a trajectory with a decaying spectrum.
		enc := m.Data[m.LayerOffset(0) : m.LayerOffset(0)+c.NumHiddenLayers*c.LayerSize()]
		for k := 1; k <= *extractT; k++ {
			nn.ParallelFor(len(enc), 4, func(lo, hi int) {
				for j := lo; j < hi; j++ {
					h := uint32(j)*2654435761 ^ uint32(k)*40503
					enc[j] += 1e-4 * (float32(j%7) - 3 + float32(h%1000)/1000*float32(k%3))
				}
			})
			if err := w.Append(m, k, float64(k)); err != nil {
				b.Fatal(err)
			}
		}
		w.Close()
	}
	tr, err := OpenRun(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	out := filepath.Join(b.TempDir(), "basis.safetensors")
	var mbps float64
	for b.Loop() {
		st, err := Extract(All(tr), out, ExtractOptions{})
		if err != nil {
			b.Fatal(err)
		}
		mbps = st.ReadMBps()
	}
	b.ReportMetric(mbps, "MB/s")
}
