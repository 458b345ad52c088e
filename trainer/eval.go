package trainer

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/model"
)

// Predictions are a model's outputs on a dataset, in its order.
type Predictions struct {
	Classes []int     // argmax of the logits (classification)
	Scores  []float32 // the single output (regression)
	Loss    float64   // mean loss over the examples, NaN without labels
	Seconds float64
	Batches int // forward passes, the evaluation loop's steps
}

// predict runs m in evaluation mode (no dropout) over d in order, in
// batches of batchSize, with dynamic padding as the Trainer's evaluation
// loop does.
func predict(m *model.Model, ws *model.Workspace, bt *batcher, d *Dataset, batchSize int) (*Predictions, error) {
	start := time.Now()
	nl := m.Config.NumLabels()
	regression := m.Config.IsRegression()
	p := &Predictions{}
	if regression {
		p.Scores = make([]float32, 0, d.Len())
	} else {
		p.Classes = make([]int, 0, d.Len())
	}
	idx := make([]int, batchSize)
	var lossSum float64
	labeled := true
	for lo := 0; lo < d.Len(); lo += batchSize {
		hi := min(lo+batchSize, d.Len())
		for i := lo; i < hi; i++ {
			idx[i-lo] = i
		}
		b := bt.fill(d, idx[:hi-lo])
		p.Batches++
		loss, err := m.Forward(ws, b, model.Pass{})
		if err != nil {
			return nil, err
		}
		labeled = labeled && (b.Labels != nil || b.Targets != nil)
		// The Trainer repeats each batch's mean loss batch-size times and
		// averages: a per-example mean.
		lossSum += loss * float64(b.B)
		for r := 0; r < b.B; r++ {
			logits := ws.Logits[r*nl : (r+1)*nl]
			if regression {
				p.Scores = append(p.Scores, logits[0])
				continue
			}
			p.Classes = append(p.Classes, model.Argmax(logits))
		}
	}
	p.Loss = math.NaN()
	if labeled && d.Len() > 0 {
		p.Loss = lossSum / float64(d.Len())
	}
	p.Seconds = time.Since(start).Seconds()
	return p, nil
}

// scoreMetrics computes the task's metrics on labeled predictions and
// names them as Trainer.evaluate does: eval_<metric>, eval_loss and the
// speed figures.
func scoreMetrics(task *glue.Task, regression bool, d *Dataset, p *Predictions) (Metrics, error) {
	var raw map[string]float64
	var err error
	if task != nil {
		raw, err = task.Metric(p.Classes, p.Scores, d.Examples)
	} else {
		raw, err = glue.UserMetric(regression, p.Classes, p.Scores, d.Examples)
	}
	if err != nil {
		return nil, err
	}
	out := Metrics{"eval_loss": p.Loss}
	for k, v := range raw {
		out["eval_"+k] = v
	}
	steps := p.Batches
	out["eval_runtime"] = round(p.Seconds, 4)
	out["eval_samples_per_second"] = round(float64(d.Len())/p.Seconds, 3)
	out["eval_steps_per_second"] = round(float64(steps)/p.Seconds, 3)
	return out, nil
}

// writePredictions writes predict_results_<name>.txt as run_glue does:
// a header, then "index<TAB>prediction" with the label's name, or the score
// with three decimals for regression.
func writePredictions(path string, p *Predictions, labelNames []string) error {
	return atomicfile.WriteFile(path, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		fmt.Fprintln(bw, "index\tprediction")
		if p.Scores != nil {
			for i, s := range p.Scores {
				fmt.Fprintf(bw, "%d\t%.3f\n", i, s)
			}
		} else {
			for i, c := range p.Classes {
				name := fmt.Sprint(c)
				if c < len(labelNames) {
					name = labelNames[c]
				}
				fmt.Fprintf(bw, "%d\t%s\n", i, name)
			}
		}
		return bw.Flush()
	})
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
