package glue

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// The functions here compute GLUE's metrics with the semantics of the
// libraries behind HuggingFace evaluate's glue metric (scikit-learn for
// accuracy, F1 and Matthews correlation, SciPy for Pearson and Spearman),
// in float64. Each takes predictions first and references second and panics
// when their lengths differ, which is a caller's bug; Task.Metric checks
// lengths and returns an error instead. On empty input they return NaN.

// Accuracy returns the fraction of predictions equal to their reference.
func Accuracy(preds, refs []int) float64 {
	checkLen("Accuracy", len(preds), len(refs))
	if len(preds) == 0 {
		return math.NaN()
	}
	right := 0
	for i, p := range preds {
		if p == refs[i] {
			right++
		}
	}
	return float64(right) / float64(len(preds))
}

// F1 returns the F1 score of class 1 (scikit-learn's f1_score with
// average="binary", pos_label=1): 2TP / (2TP + FP + FN), and 0 when no
// prediction and no reference is 1, as scikit-learn's zero_division
// default gives.
func F1(preds, refs []int) float64 {
	checkLen("F1", len(preds), len(refs))
	if len(preds) == 0 {
		return math.NaN()
	}
	var tp, fp, fn int
	for i, p := range preds {
		switch {
		case p == 1 && refs[i] == 1:
			tp++
		case p == 1:
			fp++
		case refs[i] == 1:
			fn++
		}
	}
	if tp+fp+fn == 0 {
		return 0
	}
	return float64(2*tp) / float64(2*tp+fp+fn)
}

// MatthewsCorrCoef returns the Matthews correlation coefficient by
// scikit-learn's multiclass formula (which for two classes is the familiar
// (TP·TN − FP·FN) / √((TP+FP)(TP+FN)(TN+FP)(TN+FN))), and 0 when it is
// undefined because the predictions or the references are all one class.
func MatthewsCorrCoef(preds, refs []int) float64 {
	checkLen("MatthewsCorrCoef", len(preds), len(refs))
	if len(preds) == 0 {
		return math.NaN()
	}
	tSum := map[int]float64{} // references per class: the confusion matrix's row sums
	pSum := map[int]float64{} // predictions per class: its column sums
	var correct float64
	for i, p := range preds {
		tSum[refs[i]]++
		pSum[p]++
		if p == refs[i] {
			correct++
		}
	}
	n := float64(len(preds))
	var tp, pp, tt float64
	for _, c := range sortedKeys(tSum, pSum) {
		tp += tSum[c] * pSum[c]
		pp += pSum[c] * pSum[c]
		tt += tSum[c] * tSum[c]
	}
	covYtYp := correct*n - tp
	covYpYp := n*n - pp
	covYtYt := n*n - tt
	if covYpYp*covYtYt == 0 {
		return 0
	}
	return covYtYp / math.Sqrt(covYtYt*covYpYp)
}

func sortedKeys(a, b map[int]float64) []int {
	keys := make([]int, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Pearson returns the Pearson correlation of x and y as scipy.stats.pearsonr
// computes it: NaN when either is constant or has fewer than two values;
// the sign agreement for exactly two values; otherwise the dot product of
// the centred, normalised vectors, clipped to [-1, 1].
func Pearson(x, y []float64) float64 {
	checkLen("Pearson", len(x), len(y))
	n := len(x)
	if n < 2 || constant(x) || constant(y) {
		return math.NaN()
	}
	if n == 2 {
		return sign(x[1]-x[0]) * sign(y[1]-y[0])
	}
	mx, my := mean(x), mean(y)
	var sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxx += dx * dx
		syy += dy * dy
	}
	nx, ny := math.Sqrt(sxx), math.Sqrt(syy)
	var r float64
	for i := range x {
		r += (x[i] - mx) / nx * ((y[i] - my) / ny)
	}
	return max(-1, min(r, 1))
}

// Spearman returns Spearman's rank correlation: the Pearson correlation of
// the ranks, with tied values sharing the average of their ranks, as
// scipy.stats.spearmanr computes it (NaN if any value is NaN, which SciPy
// propagates).
func Spearman(x, y []float64) float64 {
	checkLen("Spearman", len(x), len(y))
	if slices.ContainsFunc(x, math.IsNaN) || slices.ContainsFunc(y, math.IsNaN) {
		return math.NaN()
	}
	return Pearson(Rank(x), Rank(y))
}

// Rank returns the 1-based ranks of x, tied values getting the mean of the
// ranks they span (scipy.stats.rankdata's "average" method).
func Rank(x []float64) []float64 {
	order := make([]int, len(x))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return x[order[a]] < x[order[b]] })
	ranks := make([]float64, len(x))
	for i := 0; i < len(order); {
		j := i + 1
		for j < len(order) && x[order[j]] == x[order[i]] {
			j++
		}
		// Positions i..j-1 hold equal values: ranks i+1..j, whose mean is this.
		r := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			ranks[order[k]] = r
		}
		i = j
	}
	return ranks
}

// MeanSquaredError returns the mean of the squared differences, as
// scikit-learn's mean_squared_error behind evaluate's mse metric.
func MeanSquaredError(preds, refs []float64) float64 {
	checkLen("MeanSquaredError", len(preds), len(refs))
	if len(preds) == 0 {
		return math.NaN()
	}
	var s float64
	for i, p := range preds {
		d := refs[i] - p
		s += d * d
	}
	return s / float64(len(preds))
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func constant(x []float64) bool {
	for _, v := range x[1:] {
		if v != x[0] {
			return false
		}
	}
	return true
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

func checkLen(fn string, np, nr int) {
	if np != nr {
		panic(fmt.Sprintf("glue.%s: %d predictions for %d references", fn, np, nr))
	}
}
