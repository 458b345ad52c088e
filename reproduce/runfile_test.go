package reproduce

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/report"
)

// TestRunFile: reproduce_run.json is a report.Run in the results schema;
// NaN is written as null and read back as NaN, and a file written before
// the schema was shared (Go field names as keys) still reads in full.
func TestRunFile(t *testing.T) {
	dir := t.TempDir()
	run := report.Run{Task: "rte", Method: report.Intrinsic, Seed: 42, Dir: dir, Metric: "accuracy",
		Score: math.NaN(), Metrics: map[string]float64{"eval_accuracy": math.NaN(), "eval_loss": 0.5},
		Trainable: 10, Total: 100, WallSeconds: 1.25}
	if err := writeRun(dir, run); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, runFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"score": null`, `"eval_accuracy": null`, `"wall_seconds": 1.25`, `"method": "intrinsic"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %s:\n%s", runFile, want, data)
		}
	}

	old := `{"Task":"rte","Method":"full","Dir":"d","Metric":"accuracy","Seed":7,"Score":0.625,
"Metrics":{"eval_accuracy":0.625,"eval_loss":null},"Trainable":3,"Total":4,"WallSeconds":2.5}`
	for _, tc := range []struct {
		name, file string
		want       report.Run
	}{
		{"current", string(data), run},
		{"old", old, report.Run{Task: "rte", Method: "full", Dir: "d", Metric: "accuracy", Seed: 7, Score: 0.625,
			Metrics: map[string]float64{"eval_accuracy": 0.625, "eval_loss": math.NaN()}, Trainable: 3, Total: 4, WallSeconds: 2.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			if err := os.WriteFile(filepath.Join(d, runFile), []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			var got report.Run
			ok, err := readRun(d, &got)
			if err != nil || !ok {
				t.Fatalf("readRun: %v, %v", ok, err)
			}
			if !sameRun(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestRunFileBad(t *testing.T) {
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, runFile), []byte(`{"score": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var r report.Run
	if _, err := readRun(d, &r); err == nil || !strings.Contains(err.Error(), runFile) {
		t.Errorf("readRun of a bad file: %v, want an error naming %s", err, runFile)
	}
	if ok, err := readRun(t.TempDir(), &r); ok || err != nil {
		t.Errorf("readRun of no file: %v, %v; want false, nil", ok, err)
	}
}

func sameRun(a, b report.Run) bool {
	same := func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }
	if a.Task != b.Task || a.Method != b.Method || a.Dir != b.Dir || a.Metric != b.Metric || a.Seed != b.Seed ||
		a.Trainable != b.Trainable || a.Total != b.Total || !same(a.Score, b.Score) || !same(a.WallSeconds, b.WallSeconds) ||
		len(a.Metrics) != len(b.Metrics) {
		return false
	}
	for k, v := range a.Metrics {
		if w, ok := b.Metrics[k]; !ok || !same(v, w) {
			return false
		}
	}
	return true
}
