package trainer

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/optim"
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
