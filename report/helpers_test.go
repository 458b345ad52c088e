package report

import (
	"math"
	"slices"
)

// runs makes one run per score, seeds 1, 2, 3, …; a NaN score is a run
// whose score is unknown.
func runs(task, method string, trainable int, scores ...float64) []Run {
	metric := map[string]string{"cola": "matthews_correlation", "stsb": "pearson"}[task]
	if metric == "" {
		metric = "accuracy"
	}
	var out []Run
	for i, s := range scores {
		metrics := map[string]float64{metric: s}
		if task == "stsb" { // a second metric, as glue reports for STS-B
			metrics["spearmanr"] = s - 0.01
		}
		out = append(out, Run{
			Task: task, Method: method, Seed: i + 1,
			Dir:    "runs/" + task + "/" + method + "/seed" + string(rune('1'+i)),
			Metric: metric, Score: s, Metrics: metrics,
			Trainable: trainable, Total: 11_171_074, WallSeconds: 60 + float64(i),
		})
	}
	return out
}

// fixture is a fixed synthetic reproduction over CoLA, SST-2 and STS-B
// with hand-checkable numbers (Score×100):
//
//	          CoLA            SST-2           STS-B           avg
//	Full      50, 52, 54      90, 91, 92      85, 86, 87      → 52.0±2.0  91.0±1.0  86.0±1.0  76.3
//	Freeze    10, 20, 30      80, 81, 82      20, 30, NaN     → 20.0±10.0 81.0±1.0  25.0±7.1 (n=2)  42.0
//	Random    20, 22, 24      82, 83, 84      40, 44, 48      → 22.0±2.0  83.0±1.0  44.0±4.0  49.7
//	Intrinsic 48, 50, 52      89, 90, 91      80, 85, 90      → 50.0±2.0  90.0±1.0  85.0±5.0  75.0
func fixture() Results {
	r := Results{
		Model: "models/subtune-mini", Profile: "quick",
		Tasks: []string{"cola", "sst2", "stsb"}, Seeds: []int{1, 2, 3},
		WallSeconds: 754.4, Command: "subtune reproduce --tasks cola,sst2,stsb --profile quick",
	}
	r.Runs = slices.Concat(
		runs("cola", Full, 11_171_074, .50, .52, .54),
		runs("sst2", Full, 11_171_074, .90, .91, .92),
		runs("stsb", Full, 11_170_817, .85, .86, .87),
		runs("cola", Freeze, 514, .10, .20, .30),
		runs("sst2", Freeze, 514, .80, .81, .82),
		runs("stsb", Freeze, 257, .20, .30, math.NaN()),
		runs("cola", Random, 546, .20, .22, .24),
		runs("sst2", Random, 546, .82, .83, .84),
		runs("stsb", Random, 289, .40, .44, .48),
		runs("cola", Intrinsic, 546, .48, .50, .52),
		runs("sst2", Intrinsic, 546, .89, .90, .91),
		runs("stsb", Intrinsic, 289, .80, .85, .90),
	)
	for layer := range 3 {
		for _, task := range r.Tasks {
			sv := make([]float64, 8)
			for i := range sv {
				sv[i] = 10 * math.Pow(0.4+0.1*float64(layer), float64(i))
			}
			r.Spectra = append(r.Spectra, Spectrum{Task: task, Layer: layer, SingularValues: sv})
		}
	}
	return r
}

func sameRuns(a, b []Run) bool {
	return slices.EqualFunc(a, b, func(x, y Run) bool {
		return x.Task == y.Task && x.Method == y.Method && x.Seed == y.Seed && x.Dir == y.Dir &&
			x.Metric == y.Metric && sameFloat(x.Score, y.Score) && x.Trainable == y.Trainable &&
			x.Total == y.Total && sameFloat(x.WallSeconds, y.WallSeconds) &&
			len(x.Metrics) == len(y.Metrics) && func() bool {
			for k, v := range x.Metrics {
				w, ok := y.Metrics[k]
				if !ok || !sameFloat(v, w) {
					return false
				}
			}
			return true
		}()
	})
}
