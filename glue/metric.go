package glue

import (
	"fmt"
	"maps"
	"slices"
)

// Metric scores predictions on labeled examples as run_glue does with
// HuggingFace evaluate's glue metric: preds are class ids (the argmax of the
// logits) for classification tasks, predScores the predicted scores for
// stsb; the other argument may be nil. The keys are evaluate's:
//
//	cola                    matthews_correlation
//	sst2, mnli, qnli, rte, wnli  accuracy
//	mrpc, qqp               accuracy, f1, combined_score
//	stsb                    pearson, spearmanr, combined_score
//
// combined_score is the mean of the other two, which run_glue adds where a
// task has two metrics. For MNLI, call it once per eval split and add
// Split.MetricSuffix to the keys (see WithSuffix). A correlation of constant
// predictions is NaN, as in SciPy; Matthews correlation is then 0, as in
// scikit-learn.
func (t *Task) Metric(preds []int, predScores []float32, refs []Example) (map[string]float64, error) {
	if err := checkRefs(t.Name, t.IsRegression, preds, predScores, refs); err != nil {
		return nil, err
	}
	m := map[string]float64{}
	if t.IsRegression {
		x, y := scores(predScores, refs)
		m["pearson"] = Pearson(x, y)
		m["spearmanr"] = Spearman(x, y)
	} else {
		y := labels(refs)
		switch t.Name {
		case "cola":
			m["matthews_correlation"] = MatthewsCorrCoef(preds, y)
		case "mrpc", "qqp":
			m["accuracy"] = Accuracy(preds, y)
			m["f1"] = F1(preds, y)
		default:
			m["accuracy"] = Accuracy(preds, y)
		}
	}
	addCombined(m, t.metrics)
	return m, nil
}

// addCombined adds run_glue's combined_score, the mean of the metrics, in
// the order evaluate returns them, where there is more than one.
func addCombined(m map[string]float64, order []string) {
	if len(m) < 2 {
		return
	}
	var sum float64
	for _, k := range order {
		if v, ok := m[k]; ok {
			sum += v
		}
	}
	m["combined_score"] = sum / float64(len(m))
}

// MetricNames returns the keys Metric returns for the task.
func (t *Task) MetricNames() []string { return slices.Clone(t.metrics) }

// MainMetric returns the key of the one number per task that a GLUE table
// shows: matthews_correlation for cola, pearson for stsb, accuracy for the
// others, MRPC and QQP included. This is the common convention of
// parameter-efficient fine-tuning papers' GLUE tables (LoRA's, for one:
// Matthews for CoLA, Pearson for STS-B, accuracy elsewhere). F1, Spearman
// and combined_score stay in Metric's map for a report that wants both
// numbers, as GLUE's leaderboard shows them.
func (t *Task) MainMetric() string { return t.main }

// UserMetric scores predictions on examples from user files (run_glue
// without --task_name): evaluate's "mse" for regression, "accuracy" for
// classification.
func UserMetric(isRegression bool, preds []int, predScores []float32, refs []Example) (map[string]float64, error) {
	if err := checkRefs("user data", isRegression, preds, predScores, refs); err != nil {
		return nil, err
	}
	if isRegression {
		x, y := scores(predScores, refs)
		return map[string]float64{"mse": MeanSquaredError(x, y)}, nil
	}
	return map[string]float64{"accuracy": Accuracy(preds, labels(refs))}, nil
}

// WithSuffix returns m with suffix appended to every key, as run_glue names
// MNLI's mismatched results (accuracy_mm).
func WithSuffix(m map[string]float64, suffix string) map[string]float64 {
	if suffix == "" {
		return maps.Clone(m)
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k+suffix] = v
	}
	return out
}

func checkRefs(name string, isRegression bool, preds []int, predScores []float32, refs []Example) error {
	n, what := len(preds), "predictions"
	if isRegression {
		n, what = len(predScores), "predicted scores"
	}
	if n != len(refs) {
		return fmt.Errorf("glue: %s: %d %s for %d examples", name, n, what, len(refs))
	}
	if len(refs) == 0 {
		return fmt.Errorf("glue: %s: no examples to score", name)
	}
	for _, ex := range refs {
		if !ex.HasLabel {
			return fmt.Errorf("glue: %s: cannot score example %d (line %d): it has no label", name, ex.Index, ex.Line)
		}
	}
	return nil
}

func labels(refs []Example) []int {
	y := make([]int, len(refs))
	for i, ex := range refs {
		y[i] = ex.Label
	}
	return y
}

// scores widens predicted and gold scores, float32 as in HuggingFace, to
// the float64 the correlations are computed in.
func scores(pred []float32, refs []Example) (x, y []float64) {
	x = make([]float64, len(pred))
	y = make([]float64, len(refs))
	for i := range pred {
		x[i] = float64(pred[i])
		y[i] = float64(refs[i].Score)
	}
	return x, y
}
