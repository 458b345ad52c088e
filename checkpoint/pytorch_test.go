package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/torchbin"
)

// torchDir holds PyTorch checkpoints written by torch 1.13
// (torchbin/testdata/gen.py) and their safetensors twins.
const torchDir = "../torchbin/testdata"

// torchExpected is torchDir/expected.json: the inputs, and the logits of
// each weight set computed by PyTorch in float64.
type torchExpected struct {
	Inputs struct {
		InputIDs      [][]int32 `json:"input_ids"`
		TokenTypeIDs  [][]int32 `json:"token_type_ids"`
		AttentionMask [][]int32 `json:"attention_mask"`
	} `json:"inputs"`
	Logits map[string][][]float32 `json:"logits"`
}

func readTorchExpected(t *testing.T) torchExpected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(torchDir, "expected.json"))
	must(t, err)
	var e torchExpected
	must(t, json.Unmarshal(b, &e))
	return e
}

// logitsOf loads the folder dir and returns its logits on the inputs.
func logitsOf(t *testing.T, dir string, e torchExpected) ([]float32, Report) {
	t.Helper()
	m, rep, err := Load(dir, model.SequenceClassification, Options{})
	must(t, err)
	in := e.Inputs
	B, T := len(in.InputIDs), len(in.InputIDs[0])
	b := &model.Batch{B: B, T: T, InputIDs: slices.Concat(in.InputIDs...), TokenTypeIDs: slices.Concat(in.TokenTypeIDs...), AttentionMask: slices.Concat(in.AttentionMask...)}
	ws := m.NewWorkspace(B, T, 0)
	if _, err := m.Forward(ws, b, model.Pass{}); err != nil {
		t.Fatal(err)
	}
	return slices.Clone(ws.Logits[:B*m.Config.NumLabels()]), rep
}

// TestLoadPyTorch loads each PyTorch folder and its safetensors twin (the
// same weights): the logits must be equal bit for bit, and agree with
// PyTorch's.
func TestLoadPyTorch(t *testing.T) {
	e := readTorchExpected(t)
	for _, c := range []struct{ dir, weights string }{
		{"zip", "f32"},
		{"legacy", "f32"},
		{"strided", "f32"},
		{"sharded", "f32"},
		{"f16", "f16"},
		{"bf16", "bf16"},
	} {
		t.Run(c.dir, func(t *testing.T) {
			got, rep := logitsOf(t, filepath.Join(torchDir, c.dir), e)
			if len(rep.Missing) > 0 || len(rep.Unexpected) > 0 {
				t.Errorf("missing %v, unexpected %v", rep.Missing, rep.Unexpected)
			}
			twin, _ := logitsOf(t, filepath.Join(torchDir, "safetensors-"+c.weights), e)
			for i := range twin {
				if math.Float32bits(got[i]) != math.Float32bits(twin[i]) {
					t.Fatalf("logit %d = %v from %s, %v from safetensors", i, got[i], c.dir, twin[i])
				}
			}
			want := slices.Concat(e.Logits[c.weights]...)
			if len(got) != len(want) {
				t.Fatalf("%d logits, PyTorch has %d", len(got), len(want))
			}
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-5 {
					t.Errorf("logit %d = %v, PyTorch %v (diff %.3g)", i, got[i], want[i], d)
				}
			}
		})
	}
}

// TestLoadPyTorchPreference checks transformers' order: safetensors before
// pytorch_model.bin, a single file before an index.
func TestLoadPyTorchPreference(t *testing.T) {
	dir := t.TempDir()
	copyTestFile(t, filepath.Join(torchDir, "zip", "config.json"), filepath.Join(dir, "config.json"))
	copyTestFile(t, filepath.Join(torchDir, "sharded", "pytorch_model.bin.index.json"), filepath.Join(dir, "pytorch_model.bin.index.json"))
	copyTestFile(t, filepath.Join(torchDir, "zip", "pytorch_model.bin"), filepath.Join(dir, "pytorch_model.bin"))
	files, err := WeightFiles(dir)
	must(t, err)
	if !slices.Equal(files, []string{filepath.Join(dir, "pytorch_model.bin")}) {
		t.Errorf("files %q, want pytorch_model.bin alone", files)
	}
	copyTestFile(t, filepath.Join(torchDir, "safetensors-f32", "model.safetensors"), filepath.Join(dir, "model.safetensors"))
	files, err = WeightFiles(dir)
	must(t, err)
	if !slices.Equal(files, []string{filepath.Join(dir, "model.safetensors")}) {
		t.Errorf("files %q, want model.safetensors", files)
	}
}

func TestLoadPyTorchErrors(t *testing.T) {
	t.Run("hostile", func(t *testing.T) {
		err := loadErr(t, filepath.Join(torchDir, "hostile"), model.SequenceClassification)
		wantInError(t, err, "hostile/pytorch_model.bin", "posix.system")
		if !errors.Is(err, torchbin.ErrForbidden) {
			t.Errorf("error %v is not torchbin.ErrForbidden", err)
		}
	})
	t.Run("not a checkpoint", func(t *testing.T) {
		dir, _ := savedTiny(t)
		must(t, os.Remove(filepath.Join(dir, "model.safetensors")))
		must(t, os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), []byte("PK\x03\x04"), 0o644))
		wantInError(t, loadErr(t, dir, model.SequenceClassification), filepath.Join(dir, "pytorch_model.bin"), "invalid PyTorch checkpoint")
	})
	t.Run("missing shard", func(t *testing.T) {
		dir := t.TempDir()
		copyTestFile(t, filepath.Join(torchDir, "sharded", "config.json"), filepath.Join(dir, "config.json"))
		copyTestFile(t, filepath.Join(torchDir, "sharded", "pytorch_model.bin.index.json"), filepath.Join(dir, "pytorch_model.bin.index.json"))
		copyTestFile(t, filepath.Join(torchDir, "sharded", "pytorch_model-00001-of-00002.bin"), filepath.Join(dir, "pytorch_model-00001-of-00002.bin"))
		wantInError(t, loadErr(t, dir, model.SequenceClassification), "pytorch_model-00002-of-00002.bin", "no such file")
	})
	t.Run("NaN", func(t *testing.T) {
		dir := t.TempDir()
		copyTestFile(t, filepath.Join(torchDir, "f16", "config.json"), filepath.Join(dir, "config.json"))
		b, err := os.ReadFile(filepath.Join(torchDir, "f16", "pytorch_model.bin"))
		must(t, err)
		f, err := torchbin.OpenReaderAt("f16", bytes.NewReader(b), int64(len(b)))
		must(t, err)
		// Make the first element of the classifier bias an F16 NaN, where
		// its 6 bytes are stored (once) in the archive.
		raw, err := f.Raw("classifier.bias")
		must(t, err)
		i := bytes.Index(b, raw)
		if i < 0 || bytes.Count(b, raw) != 1 {
			t.Fatalf("classifier.bias found %d times", bytes.Count(b, raw))
		}
		b[i], b[i+1] = 0x00, 0x7e
		must(t, os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), b, 0o644))
		err = loadErr(t, dir, model.SequenceClassification)
		wantInError(t, err, "classifier.bias", "element 0 is NaN")
		if !errors.Is(err, safetensors.ErrNonFinite) {
			t.Errorf("error %v is not safetensors.ErrNonFinite", err)
		}
	})
}

func copyTestFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	must(t, err)
	must(t, os.WriteFile(to, b, 0o644))
}
