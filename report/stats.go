package report

import "math"

// Summary is the mean ± sample standard deviation of some runs' scores ×100.
type Summary struct {
	Mean float64 // NaN when N == 0
	Std  float64 // sample std (n−1); NaN when N < 2
	N    int     // runs with a finite score
	NaN  int     // runs whose score is NaN or infinite, left out of Mean and Std
}

// Summarize returns the summary of the runs' Score×100.
func Summarize(runs []Run) Summary {
	xs := make([]float64, 0, len(runs))
	for _, r := range runs {
		xs = append(xs, 100*r.Score)
	}
	return SummarizeValues(xs)
}

// SummarizeValues returns the mean and sample std of the finite values of
// xs (taken as they are, not ×100).
func SummarizeValues(xs []float64) Summary {
	s := Summary{Mean: math.NaN(), Std: math.NaN()}
	var sum float64
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			s.NaN++
			continue
		}
		sum += x
		s.N++
	}
	if s.N == 0 {
		return s
	}
	s.Mean = sum / float64(s.N)
	if s.N < 2 {
		return s
	}
	var ss float64
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		d := x - s.Mean
		ss += d * d
	}
	s.Std = math.Sqrt(ss / float64(s.N-1))
	return s
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
