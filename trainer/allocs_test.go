package trainer

import (
	"runtime"
	"testing"

	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/nn"
	"github.com/subtune/subtune/trainloop"
)

// TestStepAllocs: a training step allocates nothing that grows with the
// model or the batch: the trainer reuses its batch buffers and workspace.
// What remains are the engine's and the optimiser's closures and partial
// sums (nn.ParallelFor, optim.GlobalNorm): a few hundred small objects, a
// few kilobytes, per step.
func TestStepAllocs(t *testing.T) {
	c := testmodel.Tiny(2)
	m, err := model.New(c, model.SequenceClassification)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	const B, T = 8, 32
	ws := m.NewWorkspace(B, T, 0)
	loop := trainloop.New(m, ws, trainloop.Config{LearningRate: 1e-3, MaxGradNorm: 1, TotalSteps: 1000})
	b := &model.Batch{B: B, T: T, InputIDs: make([]int32, B*T), Labels: make([]int32, B)}
	for i := range b.InputIDs {
		b.InputIDs[i] = int32(100 + i)
	}
	batches, seeds := []*model.Batch{b}, []uint64{1}
	for _, procs := range []int{1, 2} {
		prev := nn.Workers()
		nn.SetThreads(procs)
		step := func() {
			if _, err := loop.TrainStep(batches, seeds); err != nil {
				t.Fatal(err)
			}
		}
		n := testing.AllocsPerRun(5, step)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const steps = 5
		for i := 0; i < steps; i++ {
			step()
		}
		runtime.ReadMemStats(&after)
		nn.SetThreads(prev)
		bytes := float64(after.TotalAlloc-before.TotalAlloc) / steps
		t.Logf("%d threads: %.0f allocations, %.0f bytes per step", procs, n, bytes)
		if n > 500 || bytes > 64<<10 {
			t.Errorf("a step allocates %.0f times, %.0f bytes", n, bytes)
		}
	}
}
