package model_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

// golden is testdata/<case>/golden.json, written by testdata/golden.py from
// a float64 PyTorch re-implementation of transformers' BERT and RoBERTa.
// The model folders load through package checkpoint, as a downloaded
// model does; the test lives outside package model so that it may.
type golden struct {
	Architecture string `json:"architecture"`
	Inputs       struct {
		InputIDs      [][]int32       `json:"input_ids"`
		TokenTypeIDs  [][]int32       `json:"token_type_ids"`
		AttentionMask [][]int32       `json:"attention_mask"`
		Labels        json.RawMessage `json:"labels"`
	} `json:"inputs"`
	Logits          json.RawMessage `json:"logits"`
	Loss            float64         `json:"loss"`
	LastHiddenState [][][]float32   `json:"last_hidden_state"`
	GradsFile       string          `json:"grads_file"`
	HeadFile        string          `json:"head_file"`
}

const goldenDir = "testdata"

func flatten2[T any](x [][]T) []T {
	var out []T
	for _, r := range x {
		out = append(out, r...)
	}
	return out
}

// loadGolden reads testdata/<name>: golden.json, the checkpoint (and the
// legacy case's separate head), and the batch of its inputs without labels.
func loadGolden(t *testing.T, name string) (g golden, m *model.Model, b *model.Batch) {
	t.Helper()
	dir := filepath.Join(goldenDir, name)
	raw, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	head := model.SequenceClassification
	if g.Architecture == "BertForMaskedLM" {
		head = model.MaskedLM
	}
	m, rep, err := checkpoint.Load(dir, head, checkpoint.Options{ConfigOverride: func(c *model.Config) {}})
	if err != nil {
		t.Fatal(err)
	}
	if g.HeadFile != "" {
		// The legacy case keeps its head apart from the bare encoder.
		f, err := safetensors.Open(filepath.Join(dir, g.HeadFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range f.Names() {
			ti, ok := m.TensorInfo(n)
			if !ok {
				t.Fatalf("head tensor %s unknown", n)
			}
			if err := f.ReadFloat32Into(n, m.Data[ti.Offset:ti.Offset+ti.Size]); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
	} else if len(rep.Missing) > 0 || len(rep.Unexpected) > 0 {
		t.Fatalf("missing %v unexpected %v", rep.Missing, rep.Unexpected)
	}
	B, T := len(g.Inputs.InputIDs), len(g.Inputs.InputIDs[0])
	b = &model.Batch{B: B, T: T, InputIDs: flatten2(g.Inputs.InputIDs),
		TokenTypeIDs: flatten2(g.Inputs.TokenTypeIDs), AttentionMask: flatten2(g.Inputs.AttentionMask)}
	return g, m, b
}

// goldenLogits flattens a golden's logits: B×labels, or B×T×vocab for
// masked LM.
func goldenLogits(t *testing.T, raw json.RawMessage, head model.Head) []float32 {
	t.Helper()
	if head == model.MaskedLM {
		var l [][][]float32
		must(t, json.Unmarshal(raw, &l))
		var out []float32
		for _, r := range l {
			out = append(out, flatten2(r)...)
		}
		return out
	}
	var l [][]float32
	must(t, json.Unmarshal(raw, &l))
	return flatten2(l)
}

// flatten3 flattens B×T×H hidden states.
func flatten3(x [][][]float32) []float32 {
	var out []float32
	for _, r := range x {
		out = append(out, flatten2(r)...)
	}
	return out
}

// forwardRows picks from B×T×width golden values the rows the workspace
// computed: all of them with the padding kept, else the real tokens
// (ws.Rows). Sequence-classification logits (B×labels) are not per token
// and are returned whole.
func forwardRows(ws *model.Workspace, full []float32, width int, perToken bool) []float32 {
	if ws.KeepPadding || !perToken {
		return full
	}
	var out []float32
	for _, pos := range ws.Rows() {
		out = append(out, full[int(pos)*width:int(pos+1)*width]...)
	}
	return out
}

// setLabels puts the golden's labels into b.
func setLabels(t *testing.T, g golden, m *model.Model, b *model.Batch) {
	t.Helper()
	switch {
	case m.Head == model.MaskedLM:
		var l [][]int32
		must(t, json.Unmarshal(g.Inputs.Labels, &l))
		b.MLMLabels = flatten2(l)
	case m.Config.IsRegression():
		must(t, json.Unmarshal(g.Inputs.Labels, &b.Targets))
	default:
		must(t, json.Unmarshal(g.Inputs.Labels, &b.Labels))
	}
}

func TestGoldenAgainstPyTorch(t *testing.T) {
	for _, name := range []string{"tiny-bert", "tiny-bert-regression", "tiny-bert-relu", "tiny-roberta", "tiny-bert-mlm", "tiny-bert-legacy"} {
		t.Run(name, func(t *testing.T) {
			g, m, b := loadGolden(t, name)
			dir := filepath.Join(goldenDir, name)
			head := m.Head
			ws := m.NewWorkspace(b.B, b.T, 0)

			// Logits (for MLM: at every position, so no labels yet).
			wantLogits := goldenLogits(t, g.Logits, head)
			wantHidden := flatten3(g.LastHiddenState)
			// With the padding kept every position matches PyTorch; packed,
			// every real token does (the rows ws.Rows names).
			H, V := m.Config.HiddenSize, m.Config.VocabSize
			for _, keep := range []bool{true, false} {
				ws.KeepPadding = keep
				if _, err := m.Forward(ws, b, model.Pass{}); err != nil {
					t.Fatal(err)
				}
				wantL := forwardRows(ws, wantLogits, V, head == model.MaskedLM)
				wantH := forwardRows(ws, wantHidden, H, true)
				what := fmt.Sprintf(" (KeepPadding %v)", keep)
				compare(t, "logits"+what, ws.Logits[:len(wantL)], wantL, 1e-4, 0)
				compare(t, "last_hidden_state"+what, ws.Hidden(m), wantH, 1e-4, 0)
			}

			// Loss and gradients.
			setLabels(t, g, m, b)
			loss, err := m.Forward(ws, b, model.Pass{})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(loss-g.Loss) > 1e-4 {
				t.Errorf("loss %v, want %v", loss, g.Loss)
			}
			m.ZeroGrad()
			m.Backward(ws, b)
			grads, err := safetensors.Open(filepath.Join(dir, g.GradsFile))
			if err != nil {
				t.Fatal(err)
			}
			defer grads.Close()
			compared := 0
			defer func() {
				if compared != len(m.Tensors) {
					t.Errorf("compared gradients of %d tensors, model has %d", compared, len(m.Tensors))
				}
			}()
			for _, n := range grads.Names() {
				want, err := grads.Float32(n)
				if err != nil {
					t.Fatal(err)
				}
				ti, ok := m.TensorInfo(n)
				if !ok {
					if strings.Contains(n, ".decoder.") {
						// PyTorch reports the masked-LM decoder's gradient
						// apart; its weight is the word embeddings and its
						// bias the prediction bias, compared under those names.
						continue
					}
					t.Errorf("gradient for unknown tensor %s", n)
					continue
				}
				compare(t, "grad "+n, m.Grad[ti.Offset:ti.Offset+ti.Size], want, 1e-6, 1e-3)
				compared++
			}
		})
	}
}

// compare checks |got−want| ≤ abs + rel·max|want| elementwise; the relative
// part is scaled by the tensor's largest magnitude so that near-zero
// entries of a gradient are not held to a tighter bound than its float32
// rounding allows.
func compare(t *testing.T, what string, got, want []float32, abs, rel float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	var scale float64
	for _, w := range want {
		scale = max(scale, math.Abs(float64(w)))
	}
	bad := 0
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > abs+rel*scale {
			if bad < 3 {
				t.Errorf("%s[%d] = %v, want %v (diff %.3g)", what, i, got[i], want[i], d)
			}
			bad++
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(want))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
