package glue

import (
	"math"
	"slices"
	"testing"
)

// All expected values are worked out by hand in the comments.

func TestClassificationStats(t *testing.T) {
	tests := []struct {
		name        string
		preds, refs []int
		acc, f1, mc float64
	}{
		// TP 2 (0, 2), FP 1 (3), FN 1 (1), TN 1 (4): accuracy 3/5;
		// F1 = 2·2/(2·2+1+1) = 2/3; MCC = (2·1−1·1)/√(3·3·2·2) = 1/6.
		{"mixed", []int{1, 0, 1, 1, 0}, []int{1, 1, 1, 0, 0}, 0.6, 2.0 / 3, 1.0 / 6},
		{"perfect", []int{1, 0, 1}, []int{1, 0, 1}, 1, 1, 1},
		{"inverse", []int{0, 1, 0}, []int{1, 0, 1}, 0, 0, -1},
		// Constant predictions: MCC's denominator is 0, scikit-learn gives 0.
		// TP 2, FP 1: F1 = 4/5.
		{"constant predictions", []int{1, 1, 1}, []int{0, 1, 1}, 2.0 / 3, 0.8, 0},
		// No 1 predicted or referenced: F1 is 0/0, scikit-learn's zero_division gives 0.
		{"no positives", []int{0, 0}, []int{0, 0}, 1, 0, 0},
		{"positives missed", []int{0, 0}, []int{1, 0}, 0.5, 0, 0},
		// Three classes, as scikit-learn's formula allows: n 4, 2 correct,
		// class counts 1, 1, 2 in both; (2·4 − 6)/√((16−6)(16−6)) = 0.2.
		// F1 of class 1: TP 0, FP 1, FN 1: 0.
		{"three classes", []int{0, 1, 2, 2}, []int{0, 2, 2, 1}, 0.5, 0, 0.2},
	}
	for _, tt := range tests {
		if got := Accuracy(tt.preds, tt.refs); !near(got, tt.acc) {
			t.Errorf("%s: Accuracy = %v, want %v", tt.name, got, tt.acc)
		}
		if got := F1(tt.preds, tt.refs); !near(got, tt.f1) {
			t.Errorf("%s: F1 = %v, want %v", tt.name, got, tt.f1)
		}
		if got := MatthewsCorrCoef(tt.preds, tt.refs); !near(got, tt.mc) {
			t.Errorf("%s: MatthewsCorrCoef = %v, want %v", tt.name, got, tt.mc)
		}
	}
}

func TestCorrelations(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name              string
		x, y              []float64
		pearson, spearman float64
	}{
		// Means 2.5 and 5; deviations (−1.5, −.5, .5, 1.5) and (−3, −1, 0, 4):
		// Σdxdy 11, Σdx² 5, Σdy² 26, r = 11/√130. Both increase: Spearman 1.
		{"increasing", []float64{1, 2, 3, 4}, []float64{2, 4, 5, 9}, 11 / math.Sqrt(130), 1},
		// Ties: x ranks (1, 2.5, 2.5, 4), y ranks (1, 3, 2, 4); deviations
		// (−1.5, 0, 0, 1.5) and (−1.5, .5, −.5, 1.5): 4.5/√(4.5·5) = 3/√10.
		// Pearson on the values: means 2, 2.5; dx (−1, 0, 0, 1), dy (−1.5,
		// .5, −.5, 1.5): 3/√(2·5) = 3/√10 too.
		{"ties", []float64{1, 2, 2, 3}, []float64{1, 3, 2, 4}, 3 / math.Sqrt(10), 3 / math.Sqrt(10)},
		// Decreasing and non-linear: means 2 and 10/3, dx (−1, 0, 1), dy
		// (17/3, −7/3, −10/3): Σdxdy −9, Σdx² 2, Σdy² 438/9, r = −27/√876.
		// Spearman −1.
		{"decreasing", []float64{1, 2, 3}, []float64{9, 1, 0}, -27 / math.Sqrt(876), -1},
		// SciPy: two values give the agreement of signs.
		{"two values", []float64{1, 3}, []float64{5, 2}, -1, -1},
		// SciPy: constant input or a single value give NaN.
		{"constant", []float64{1, 2, 3}, []float64{2, 2, 2}, nan, nan},
		{"one value", []float64{1}, []float64{2}, nan, nan},
		{"NaN", []float64{1, nan, 3}, []float64{1, 2, 3}, nan, nan},
	}
	for _, tt := range tests {
		if got := Pearson(tt.x, tt.y); !near(got, tt.pearson) {
			t.Errorf("%s: Pearson = %v, want %v", tt.name, got, tt.pearson)
		}
		if got := Spearman(tt.x, tt.y); !near(got, tt.spearman) {
			t.Errorf("%s: Spearman = %v, want %v", tt.name, got, tt.spearman)
		}
	}
}

func TestRank(t *testing.T) {
	// The three 10s take ranks 1–3 (mean 2), the 20s 4–5 (4.5), the 30 6.
	got := Rank([]float64{10, 20, 10, 30, 20, 10})
	want := []float64{2, 4.5, 2, 6, 4.5, 2}
	if !slices.Equal(got, want) {
		t.Errorf("Rank = %v, want %v", got, want)
	}
}

func TestTaskMetric(t *testing.T) {
	preds := []int{1, 0, 1, 1, 0}
	refs := labeled(1, 1, 1, 0, 0) // as in TestClassificationStats' "mixed"
	tests := []struct {
		task string
		want map[string]float64
	}{
		{"cola", map[string]float64{"matthews_correlation": 1.0 / 6}},
		{"mrpc", map[string]float64{"accuracy": 0.6, "f1": 2.0 / 3, "combined_score": (0.6 + 2.0/3) / 2}},
		{"qqp", map[string]float64{"accuracy": 0.6, "f1": 2.0 / 3, "combined_score": (0.6 + 2.0/3) / 2}},
		{"sst2", map[string]float64{"accuracy": 0.6}},
		{"rte", map[string]float64{"accuracy": 0.6}},
		{"mnli", map[string]float64{"accuracy": 0.6}},
	}
	for _, tt := range tests {
		got, err := mustLookup(t, tt.task).Metric(preds, nil, refs)
		if err != nil {
			t.Fatal(err)
		}
		checkMetrics(t, tt.task, got, tt.want)
	}

	scored := []Example{{HasLabel: true, Score: 2}, {HasLabel: true, Score: 4}, {HasLabel: true, Score: 5}, {HasLabel: true, Score: 9}}
	got, err := mustLookup(t, "stsb").Metric(nil, []float32{1, 2, 3, 4}, scored)
	if err != nil {
		t.Fatal(err)
	}
	r := 11 / math.Sqrt(130)
	checkMetrics(t, "stsb", got, map[string]float64{"pearson": r, "spearmanr": 1, "combined_score": (r + 1) / 2})

	mm := WithSuffix(map[string]float64{"accuracy": 0.5}, ValidationMismatched.MetricSuffix())
	checkMetrics(t, "mnli-mm", mm, map[string]float64{"accuracy_mm": 0.5})
}

func TestUserMetric(t *testing.T) {
	got, err := UserMetric(false, []int{2, 0, 1}, nil, labeled(2, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	checkMetrics(t, "classification", got, map[string]float64{"accuracy": 2.0 / 3})
	// ((2−1)² + (4−2)²)/2 = 2.5
	got, err = UserMetric(true, nil, []float32{1, 2}, []Example{{HasLabel: true, Score: 2}, {HasLabel: true, Score: 4}})
	if err != nil {
		t.Fatal(err)
	}
	checkMetrics(t, "regression", got, map[string]float64{"mse": 2.5})
}

func TestMetricErrors(t *testing.T) {
	rte, stsb := mustLookup(t, "rte"), mustLookup(t, "stsb")
	if _, err := rte.Metric([]int{0}, nil, labeled(0, 1)); err == nil {
		t.Error("1 prediction for 2 examples: no error")
	}
	if _, err := stsb.Metric([]int{0, 1}, nil, labeled(0, 1)); err == nil {
		t.Error("stsb scored without predicted scores: no error")
	}
	if _, err := rte.Metric(nil, nil, nil); err == nil {
		t.Error("no examples: no error")
	}
	unlabeled := []Example{{Label: -1, Index: 7, Line: 9}}
	if _, err := rte.Metric([]int{0}, nil, unlabeled); err == nil {
		t.Error("unlabeled example: no error")
	} else {
		t.Log(err)
	}
}

func labeled(ids ...int) []Example {
	ex := make([]Example, len(ids))
	for i, id := range ids {
		ex[i] = Example{HasLabel: true, Label: id, Index: i}
	}
	return ex
}

func checkMetrics(t *testing.T, name string, got, want map[string]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got keys %v, want %v", name, got, want)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || !near(g, w) {
			t.Errorf("%s: %s = %v, want %v", name, k, g, w)
		}
	}
}

// near compares to 1e-12, far below any reported digit, treating NaNs as
// equal.
func near(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= 1e-12
}
