package adapter

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
)

var labels3 = []string{"a", "b", "c"}

// trained loads the base in baseDir as a run does, attaches the subspace
// s and moves z and every full-space tensor away from their start, as
// training would. It returns the model (θ materialised) and the
// re-parameterisation.
func trained(t *testing.T, baseDir string, s subspace.Spec) (*model.Model, *subspace.Reparam) {
	t.Helper()
	m, _, err := checkpoint.Load(baseDir, model.SequenceClassification, checkpoint.Options{Labels: labels3, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := s.NewReparam(m)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range r.Z {
		r.Z[i] += float32(rng.NormFloat64())
	}
	for i := range r.Lambda {
		r.Lambda[i] = 0.5
	}
	for _, tn := range m.Tensors {
		if r.Trainable(tn) {
			for i := range m.Data[tn.Offset : tn.Offset+tn.Size] {
				m.Data[tn.Offset+i] += float32(rng.NormFloat64()) * 0.01
			}
		}
	}
	r.BeforeForward()
	return m, r
}

// basisFile extracts a 2-direction layer basis around the encoder of the
// model in baseDir into a new file.
func basisFile(t *testing.T, baseDir string, seed uint64) string {
	t.Helper()
	m, _, err := checkpoint.Load(baseDir, model.SequenceClassification, checkpoint.Options{Labels: labels3})
	if err != nil {
		t.Fatal(err)
	}
	L := m.Config.NumHiddenLayers
	theta0 := make([][]float32, L)
	rng := rand.New(rand.NewPCG(seed, 1))
	deltas := make([][][]float32, 3)
	for l := range theta0 {
		theta0[l] = slices.Clone(m.Layer(l))
	}
	for k := range deltas {
		deltas[k] = make([][]float32, L)
		for l := range deltas[k] {
			deltas[k][l] = make([]float32, len(theta0[l]))
			for i := range deltas[k][l] {
				deltas[k][l][i] = float32(rng.NormFloat64())
			}
		}
	}
	path := filepath.Join(t.TempDir(), "basis.safetensors")
	run := subspace.NewMemoryRun("mem", theta0, deltas, m.LayerLayout())
	if _, err := subspace.Extract(subspace.All(run), path, subspace.ExtractOptions{Dim: 2}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRoundTrip: Write then Load on the same base gives the trained
// model's weights bit for bit, for every kind of subspace; the adapter
// holds the full-space modules only as they were trained.
func TestRoundTrip(t *testing.T) {
	baseDir := testmodel.New(t, testmodel.Tiny(2), model.NoHead, 1)
	intrinsic := basisFile(t, baseDir, 1)
	random := func(kind string) subspace.Spec {
		s := subspace.DefaultSpec()
		s.Random, s.Dim, s.Ensemble, s.Seed = kind, 3, 2, 5
		return s
	}
	frozen := random(subspace.KindDense)
	frozen.FreezeEmbeddings = true
	bf16 := random(subspace.KindDense)
	bf16.RandomDType = safetensors.BF16
	extracted := subspace.DefaultSpec()
	extracted.BasisFile, extracted.Ensemble = intrinsic, 3
	for _, tc := range []struct {
		name    string
		spec    subspace.Spec
		modules []string
	}{
		{"dense", random(subspace.KindDense), []string{"bert.embeddings", "bert.pooler", "classifier"}},
		{"dense bf16", bf16, []string{"bert.embeddings", "bert.pooler", "classifier"}},
		{"fastfood", random(subspace.KindFastfood), []string{"bert.embeddings", "bert.pooler", "classifier"}},
		{"said", random(subspace.KindSAID), []string{"bert.embeddings", "bert.pooler", "classifier"}},
		{"frozen embeddings", frozen, []string{"bert.pooler", "classifier"}},
		{"intrinsic", extracted, []string{"bert.embeddings", "bert.pooler", "classifier"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, r := trained(t, baseDir, tc.spec)
			dir := t.TempDir()
			size, err := Write(dir, want, r, Base{NameOrPath: baseDir, Task: "x"})
			if err != nil {
				t.Fatal(err)
			}
			if st, _ := os.Stat(filepath.Join(dir, WeightsFile)); st == nil || st.Size() != size {
				t.Errorf("Write returned size %d, file %v", size, st)
			}
			got, c, err := Load(dir, baseDir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.ModulesToSave, tc.modules) {
				t.Errorf("modules_to_save %v, want %v", c.ModulesToSave, tc.modules)
			}
			if !slices.Equal(c.Labels, labels3) || !slices.Equal(labels(got.Config), labels3) {
				t.Errorf("labels %v, model's %v", c.Labels, labels(got.Config))
			}
			for _, tn := range want.Tensors {
				a, b := want.Data[tn.Offset:tn.Offset+tn.Size], got.Data[tn.Offset:tn.Offset+tn.Size]
				if !slices.Equal(a, b) {
					t.Errorf("%s differs from the trained model", tn.Name)
				}
			}
			checkStored(t, filepath.Join(dir, WeightsFile), tc.modules)
		})
	}
}

// checkStored fails unless the file holds the coordinates and the
// tensors of modules, and nothing else.
func checkStored(t *testing.T, path string, modules []string) {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, name := range f.Names() {
		if strings.HasPrefix(name, coordPrefix) {
			continue
		}
		tensor, ok := strings.CutPrefix(name, modulePrefix)
		if !ok || !slices.Contains(modules, moduleOf(tensor, "bert")) {
			t.Errorf("unexpected tensor %s", name)
		}
	}
}

// TestRefused: an adapter is applied only to its own base and basis; the
// error names both hashes. Tampered files are refused naming what is wrong.
func TestRefused(t *testing.T) {
	baseDir := testmodel.New(t, testmodel.Tiny(2), model.NoHead, 1)
	otherBase := testmodel.New(t, testmodel.Tiny(2), model.NoHead, 2)
	s := subspace.DefaultSpec()
	s.BasisFile, s.Ensemble = basisFile(t, baseDir, 1), 2
	m, r := trained(t, baseDir, s)
	dir := t.TempDir()
	if _, err := Write(dir, m, r, Base{NameOrPath: baseDir}); err != nil {
		t.Fatal(err)
	}
	c, err := ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	otherBasis := basisFile(t, baseDir, 2) // same θ0, other directions
	otherSum := hashOf(t, otherBasis)

	edit := func(t *testing.T, change func(c map[string]any)) string {
		t.Helper()
		d := t.TempDir()
		data, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
		var raw map[string]any
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		change(raw)
		data, _ = json.Marshal(raw)
		os.WriteFile(filepath.Join(d, ConfigFile), data, 0o644)
		w, _ := os.ReadFile(filepath.Join(dir, WeightsFile))
		os.WriteFile(filepath.Join(d, WeightsFile), w, 0o644)
		return d
	}
	ts, _, err := safetensors.ReadFile(filepath.Join(dir, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	withTensors := func(change func(ts map[string]safetensors.Tensor)) string {
		d := t.TempDir()
		ts := maps.Clone(ts)
		change(ts)
		safetensors.Write(filepath.Join(d, WeightsFile), ts, nil)
		os.WriteFile(filepath.Join(d, ConfigFile), data, 0o644)
		return d
	}
	extra := withTensors(func(ts map[string]safetensors.Tensor) {
		ts["base_model.model.bert.encoder.layer.0.output.dense.bias"] = safetensors.Tensor{DType: safetensors.F32, Shape: []int{16}, F32: make([]float32, 16)}
	})
	const head = "base_model.model.classifier.weight"
	transposed := withTensors(func(ts map[string]safetensors.Tensor) {
		w := ts[head]
		ts[head] = safetensors.Tensor{DType: w.DType, Shape: []int{w.Shape[1], w.Shape[0]}, F32: w.F32}
	})
	noHead := withTensors(func(ts map[string]safetensors.Tensor) { delete(ts, head) })

	for _, tc := range []struct {
		name, dir, base string
		o               Options
		wants           []string
	}{
		{"other base", dir, otherBase, Options{}, []string{c.BaseModelTheta0SHA256, otherBase, "a different model"}},
		{"other basis", dir, baseDir, Options{Basis: otherBasis}, []string{c.Subspace.BasisSHA256, otherSum, otherBasis}},
		{"peft_type", edit(t, func(c map[string]any) { c["peft_type"] = "LORA" }), baseDir, Options{}, []string{`peft_type "LORA"`, ConfigFile}},
		{"no labels", edit(t, func(c map[string]any) { delete(c, "labels") }), baseDir, Options{}, []string{"labels is empty"}},
		{"extra tensor", extra, baseDir, Options{}, []string{"tensor base_model.model.bert.encoder.layer.0.output.dense.bias", "modules_to_save"}},
		{"transposed", transposed, baseDir, Options{}, []string{head, "shape [16 3]", "the model's [3 16]"}},
		{"missing", noHead, baseDir, Options{}, []string{head}},
		{"no adapter", t.TempDir(), baseDir, Options{}, []string{"is not an adapter folder"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(tc.dir, tc.base, tc.o)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func hashOf(t *testing.T, path string) string {
	t.Helper()
	f, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(f)
	return hex.EncodeToString(sum[:])
}
