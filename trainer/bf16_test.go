package trainer

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/internal/testmodel"
)

// TestFinetuneBF16 fine-tunes the same tiny model in float32 and with
// --bf16: mixed precision trains as well, to within bfloat16's rounding,
// and says so in the log. Where this build or CPU cannot, --bf16 is
// refused before any work, with the reason.
func TestFinetuneBF16(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(2))
	run := func(bf16 bool) (map[string]float64, string, error) {
		a := tinyArgs(modelDir, t.TempDir())
		a.MaxTrainSamples, a.NumTrainEpochs, a.LearningRate = 32, 4, 1e-2
		a.SaveStrategy = "no"
		a.BF16 = bf16
		var log strings.Builder
		res, err := Finetune(context.Background(), a, &log, Hooks{})
		if err != nil {
			return nil, log.String(), err
		}
		return res.Eval, log.String(), nil
	}
	if check := blas.BF16Check(); check != nil {
		_, log, err := run(true)
		if err == nil || !strings.Contains(err.Error(), "--bf16: "+check.Error()) {
			t.Fatalf("--bf16 without a bf16 GEMM: error %v, want one naming %q", err, check)
		}
		if log != "" {
			t.Errorf("--bf16 refused after work began:\n%s", log)
		}
		return
	}
	eval32, _, err := run(false)
	if err != nil {
		t.Fatal(err)
	}
	eval16, log, err := run(true)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if !strings.Contains(log, "bf16 mixed precision: oneDNN") {
		t.Errorf("the log does not name the bf16 GEMM:\n%s", log)
	}
	l32, l16 := eval32["eval_loss"], eval16["eval_loss"]
	t.Logf("eval loss float32 %.6f, bf16 %.6f", l32, l16)
	if l16 == l32 || math.Abs(l16-l32) > 0.05*l32 {
		t.Errorf("eval loss with --bf16 %.6f, float32 %.6f: want different but within 5%%", l16, l32)
	}
}
