package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/optim"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trainloop"
)

// shiftReparam is the smallest re-parameterisation: θ = θ0 + z on the first
// k numbers of encoder layer 0, the rest of the encoder frozen, embeddings
// and head trained in full space. It is what the subspace code does with
// V = the identity on k coordinates and h = 1.
type shiftReparam struct {
	m      *model.Model
	theta0 []float32
	z, gz  []float32
}

func newShiftReparam(m *model.Model, k int) *shiftReparam {
	return &shiftReparam{m: m, theta0: slices.Clone(m.Layer(0)[:k]), z: make([]float32, k), gz: make([]float32, k)}
}

func (r *shiftReparam) Trainable(t model.Tensor) bool { return !strings.Contains(t.Name, ".encoder.") }
func (r *shiftReparam) Groups() []optim.Group {
	return []optim.Group{{Name: "z", Data: r.z, Grad: r.gz, LR: 1e-2}}
}
func (r *shiftReparam) BeforeForward() {
	l := r.m.Layer(0)
	for i, z := range r.z {
		l[i] = r.theta0[i] + z
	}
}
func (r *shiftReparam) AfterBackward() { copy(r.gz, r.m.LayerGrad(0)) }
func (r *shiftReparam) Save(dir string) error {
	return safetensors.Write(filepath.Join(dir, "z.safetensors"),
		map[string]safetensors.Tensor{"z": {DType: safetensors.F32, Shape: []int{len(r.z)}, F32: r.z}}, nil)
}
func (r *shiftReparam) Load(dir string) error {
	f, err := safetensors.Open(filepath.Join(dir, "z.safetensors"))
	if err != nil {
		return err
	}
	defer f.Close()
	return f.ReadFloat32Into("z", r.z)
}
func (r *shiftReparam) Describe() string {
	return fmt.Sprintf("shift: %d coordinates of layer 0", len(r.z))
}

// TestParamHook trains through a ParamHook: only its coordinates of the
// encoder move, its state is saved beside the model and in checkpoints,
// and an interrupted run resumes to the same z and weights.
func TestParamHook(t *testing.T) {
	const k = 40
	modelDir := tinyModelDir(t, testmodel.Tiny(2))
	var rp *shiftReparam
	var base *model.Model
	hooks := Hooks{NewParamHook: func(m *model.Model) (ParamHook, error) {
		base = &model.Model{Data: slices.Clone(m.Data)}
		rp = newShiftReparam(m, k)
		return rp, nil
	}}
	out := t.TempDir()
	a := tinyArgs(modelDir, out)
	a.NumTrainEpochs, a.DoEval = 2, false
	var log strings.Builder
	res, err := Finetune(context.Background(), a, &log, hooks)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	lo, D := m.LayerOffset(0), m.Config.LayerSize()
	encoderEnd := m.LayerOffset(1) + D
	for i := lo; i < encoderEnd; i++ {
		moved := m.Data[i] != base.Data[i]
		if moved != (i < lo+k) {
			t.Fatalf("encoder number %d (layer offset %d) moved=%v", i, i-lo, moved)
		}
	}
	cls := 101 * m.Config.HiddenSize // [CLS]'s row of the word embeddings
	if m.Data[cls] == base.Data[cls] {
		t.Error("the word embeddings did not train")
	}
	trainable := k
	for _, tn := range m.Tensors {
		if !strings.Contains(tn.Name, ".encoder.") {
			trainable += tn.Size
		}
	}
	if !strings.Contains(log.String(), "shift: 40 coordinates of layer 0") ||
		!strings.Contains(log.String(), "trainable params: "+commas(trainable)+" || all params: "+commas(m.NumParams()+k)) {
		t.Errorf("log does not say what is trained:\n%s", log.String())
	}
	zFinal := slices.Clone(rp.z)
	if err := rp.Load(out); err != nil || !slices.Equal(rp.z, zFinal) {
		t.Fatalf("z in the output dir: %v", err)
	}

	// Interrupted after step 5, resumed: the same z and weights.
	out2 := t.TempDir()
	b := tinyArgs(modelDir, out2)
	b.NumTrainEpochs, b.DoEval = 2, false
	ctx, cancel := context.WithCancel(context.Background())
	h2 := hooks
	h2.OnStep = func(step int, _ trainloop.StepStats) {
		if step == 5 {
			cancel()
		}
	}
	if _, err := Finetune(ctx, b, io.Discard, h2); !errors.Is(err, trainloop.ErrInterrupted) {
		t.Fatalf("interrupted run: %v", err)
	}
	b.Resume = true
	res2, err := Finetune(context.Background(), b, io.Discard, hooks)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rp.z, zFinal) || !slices.Equal(res2.Model.Data, m.Data) {
		t.Fatal("the resumed re-parameterised run differs from the uninterrupted one")
	}
}
