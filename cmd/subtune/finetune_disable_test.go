package main

import (
	"context"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/outliers"
	"github.com/subtune/subtune/trainer"
	"github.com/subtune/subtune/trainloop"
	"github.com/subtune/subtune/trajectory"
)

// tinyClassifier is testmodel.Tiny(2) with random weights and a 2-class head.
func tinyClassifier(t *testing.T) *model.Model {
	t.Helper()
	c := testmodel.Tiny(2)
	c.SetLabels([]string{"a", "b"})
	m := testmodel.Model(t, c, model.SequenceClassification, 5)
	// LayerNorm weights and biases away from 1 and 0, so zeroing shows.
	for i := range m.Data {
		m.Data[i] += 0.01
	}
	return m
}

func randomBatch(rng *rand.Rand, B, T, vocab int) *model.Batch {
	b := &model.Batch{B: B, T: T, InputIDs: make([]int32, B*T), Labels: make([]int32, B)}
	for i := range b.InputIDs {
		b.InputIDs[i] = int32(rng.IntN(vocab))
	}
	for i := range b.Labels {
		b.Labels[i] = int32(rng.IntN(2))
	}
	return b
}

// trainWith runs steps optimiser steps of h (BeforeForward first, as the
// trainer does) and returns θ0 as it was before.
func trainWith(t *testing.T, m *model.Model, h trainer.ParamHook, steps int) []float32 {
	t.Helper()
	theta0 := append([]float32(nil), m.Data...)
	ws := m.NewWorkspace(4, 8, 0)
	loop := trainloop.New(m, ws, trainloop.Config{LearningRate: 1e-2, WeightDecay: 0.01, MaxGradNorm: 1,
		TotalSteps: steps, Hook: h})
	if n := loop.TrainableParams(); n != m.NumParams() {
		t.Errorf("%d trainable parameters, want all %d", n, m.NumParams())
	}
	h.BeforeForward()
	rng := rand.New(rand.NewPCG(1, 2))
	for s := 0; s < steps; s++ {
		if _, err := loop.TrainStep([]*model.Batch{randomBatch(rng, 4, 8, m.Config.VocabSize)}, []uint64{uint64(s)}); err != nil {
			t.Fatal(err)
		}
	}
	return theta0
}

// checkDisabled asserts that exactly the positions are zero-held: zero
// now, and every other encoder entry has moved.
func checkDisabled(t *testing.T, m *model.Model, theta0 []float32, p outliers.Positions) {
	t.Helper()
	D := m.Config.LayerSize()
	for l := 0; l < m.Config.NumHiddenLayers; l++ {
		off := m.LayerOffset(l)
		dis := map[int]bool{}
		for _, i := range p.Layers[l] {
			dis[i] = true
			if v := m.Data[off+i]; v != 0 {
				t.Fatalf("layer %d position %d is %v after training, want 0", l, i, v)
			}
			if g := m.Grad[off+i]; g != 0 {
				t.Fatalf("layer %d position %d kept gradient %v", l, i, g)
			}
		}
		// The key bias adds the same amount to every score of a query, which
		// the softmax ignores: its gradient is zero up to rounding, and may
		// be exactly zero.
		lay := outliers.LayoutFor(m.Config)
		kb := lay.Tensors[lay.Tensors.Index("attention.self.key.bias")]
		still := 0
		for i := 0; i < D; i++ {
			if !dis[i] && m.Data[off+i] == theta0[off+i] && (i < kb.Offset || i >= kb.Offset+kb.Size) {
				still++
			}
		}
		if still > 0 {
			t.Errorf("layer %d: %d enabled parameters did not move", l, still)
		}
	}
}

func TestDisableDimsRandom(t *testing.T) {
	m := tinyClassifier(t)
	h, err := newDisableMask(m, disableSpec{random: 60}, 42)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.Describe(), "60 of 4448 encoder parameters") {
		t.Errorf("describe: %s", h.Describe())
	}
	p, _ := outliers.RandomPositions(60, 2, m.Config.LayerSize(), 42)
	theta0 := trainWith(t, m, h, 3)
	checkDisabled(t, m, theta0, p)
	// Seeded: the same seed, the same positions; another, others.
	h2, _ := newDisableMask(m, disableSpec{random: 60}, 42)
	h3, _ := newDisableMask(m, disableSpec{random: 60}, 43)
	if !slices.Equal(h.Offsets(), h2.Offsets()) || slices.Equal(h.Offsets(), h3.Offsets()) {
		t.Error("random positions are not a function of the seed")
	}
}

func TestDisableDimsOutliersFile(t *testing.T) {
	m := tinyClassifier(t)
	c := m.Config
	lay := outliers.LayoutFor(c)
	// An update with a planted dimension 3 in both layers.
	rng := rand.New(rand.NewPCG(3, 4))
	deltas := make([][]float32, c.NumHiddenLayers)
	for l := range deltas {
		deltas[l] = make([]float32, lay.LayerSize())
		for i := range deltas[l] {
			deltas[l][i] = float32(rng.NormFloat64())
		}
		deltas[l][lay.Tensors[lay.Tensors.Index("output.LayerNorm.weight")].Offset+3] = 30
	}
	res, err := outliers.Outliers(deltas, lay, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, outliers.FileName)
	if err := outliers.WriteFile(path, res, outliers.Source{Theta0SHA256: trajectory.HashLayers(m), Model: "tiny"}); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{"outliers:" + path, "outliers:" + dir} {
		d, err := parseDisableDims(arg)
		if err != nil {
			t.Fatal(err)
		}
		mm := tinyClassifier(t)
		h, err := newDisableMask(mm, d, 1)
		if err != nil {
			t.Fatal(err)
		}
		if h.Count() != res.Count || !strings.Contains(h.Describe(), "3σ outliers of "+path) {
			t.Errorf("%d positions (%d outliers): %s", h.Count(), res.Count, h.Describe())
		}
		theta0 := trainWith(t, mm, h, 3)
		checkDisabled(t, mm, theta0, res.Positions())
	}

	// Another base model, or another shape, is refused.
	other := tinyClassifier(t)
	other.Layer(0)[0] += 1
	d, _ := parseDisableDims("outliers:" + path)
	if _, err := newDisableMask(other, d, 1); err == nil || !strings.Contains(err.Error(), "another model") || !strings.Contains(err.Error(), path) {
		t.Errorf("another θ0: %v", err)
	}
	c2 := c
	c2.NumHiddenLayers = 3
	m3, _ := model.New(c2, model.SequenceClassification)
	if _, err := newDisableMask(m3, d, 1); err == nil || !strings.Contains(err.Error(), "2 layers") {
		t.Errorf("another shape: %v", err)
	}
}

func TestParseDisableDims(t *testing.T) {
	for _, bad := range []string{"random", "random:", "random:0", "random:-3", "random:x", "outliers:", "outliers:/nonexistent/o.json", "5", "top:3"} {
		if _, err := parseDisableDims(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if !strings.Contains(err.Error(), "disable_dims") && !strings.Contains(err.Error(), "nonexistent") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if d, err := parseDisableDims("random:25"); err != nil || d.random != 25 {
		t.Errorf("random:25: %+v, %v", d, err)
	}
}

func TestDisableDimsConflicts(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("subspace", "", "")
	fs.String("random_subspace", "", "")
	fs.Bool("freeze_encoder", false, "")
	fs.Bool("freeze_embeddings", false, "")
	fs.Int("ensemble", 16, "")
	if err := disableConflicts(fs); err != nil {
		t.Fatal(err)
	}
	fs.Set("ensemble", "4") // harmless without a subspace
	fs.Set("freeze_encoder", "false")
	if err := disableConflicts(fs); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ name, value string }{{"subspace", "s.safetensors"}, {"random_subspace", "dense"}, {"freeze_encoder", "true"}} {
		fs.Set(f.name, f.value)
		if err := disableConflicts(fs); err == nil || !strings.Contains(err.Error(), "--"+f.name) {
			t.Errorf("--%s: %v", f.name, err)
		}
		fs.Lookup(f.name).Value.Set(fs.Lookup(f.name).DefValue)
	}
}

// TestDisableDimsFlag goes through `subtune finetune`'s flags: the flag
// selects the hook, the run's log says how many positions are disabled,
// and the saved model has them at zero. With --freeze_encoder it is
// refused.
func TestDisableDimsFlag(t *testing.T) {
	o := &finetuneOptions{args: trainer.DefaultArgs(), subspace: newSubspaceOptions()}
	fs := pflag.NewFlagSet("finetune", pflag.ContinueOnError)
	o.addParamFlags(fs, o.disable.addFlags)
	o.addParamFlags(fs, o.subspace.addFlags)
	if err := fs.Set("disable_dims", "random:40"); err != nil {
		t.Fatal(err)
	}
	modelDir := outliersModelDir(t, 3)
	out := t.TempDir()
	a := smallRunArgs(modelDir, out, 3)
	newRP, err := o.paramHook(fs, &a, io.Discard)
	if err != nil || newRP == nil {
		t.Fatalf("reparam: %v", err)
	}
	var log strings.Builder
	if _, err := trainer.Finetune(context.Background(), a, &log, trainer.Hooks{NewParamHook: newRP}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "disable_dims: 40 of 4448 encoder parameters") {
		t.Errorf("log does not say what is disabled:\n%s", log.String())
	}
	m, _, err := checkpoint.Load(out, model.NoHead, checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := outliers.RandomPositions(40, 2, m.Config.LayerSize(), uint64(a.Seed))
	for l, idx := range p.Layers {
		for _, i := range idx {
			if v := m.Layer(l)[i]; v != 0 {
				t.Fatalf("saved model: layer %d position %d is %v", l, i, v)
			}
		}
	}

	fs.Set("freeze_encoder", "true")
	if _, err := o.paramHook(fs, &a, io.Discard); err == nil || !strings.Contains(err.Error(), "--freeze_encoder") {
		t.Errorf("with --freeze_encoder: %v", err)
	}
}
