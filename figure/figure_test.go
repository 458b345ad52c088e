package figure

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/internal/figuretest"
)

func TestHeatmap(t *testing.T) {
	nan := math.NaN()
	labels := []string{"CoLA", "SST-2", "STS-B"}
	ok := [][]float64{{52, 40, 30}, {45, 91, nan}, {20, 70, 86}}
	for _, tc := range []struct {
		name string
		h    HeatmapPlot
		err  string
	}{
		{name: "transfer", h: HeatmapPlot{Matrix: ok, RowLabels: labels, ColLabels: labels, Title: "transfer", RowAxis: "from", ColAxis: "to"}},
		{name: "diverging", h: HeatmapPlot{Matrix: [][]float64{{0, -3}, {2, 0}}, RowLabels: labels[:2], ColLabels: labels[:2], Diverging: true, Format: "%+.1f"}},
		{name: "constant", h: HeatmapPlot{Matrix: [][]float64{{5, 5}}, RowLabels: labels[:1], ColLabels: labels[:2]}},
		{name: "all NaN, no values", h: HeatmapPlot{Matrix: [][]float64{{nan}}, RowLabels: labels[:1], ColLabels: labels[:1], Format: "-"}},
		{name: "fixed range", h: HeatmapPlot{Matrix: ok, RowLabels: labels, ColLabels: labels, Min: 50, Max: 100}},
		{name: "many columns", h: HeatmapPlot{Matrix: [][]float64{{1, 2, 3, 4, 5, 6, 7, 8}}, RowLabels: []string{"r"},
			ColLabels: []string{"CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", "QNLI", "RTE"}}},
		{name: "empty", h: HeatmapPlot{}, err: "empty matrix"},
		{name: "ragged", h: HeatmapPlot{Matrix: [][]float64{{1, 2}, {3}}, RowLabels: labels[:2], ColLabels: labels[:2]}, err: "row 1 has 1 columns"},
		{name: "labels", h: HeatmapPlot{Matrix: ok, RowLabels: labels, ColLabels: labels[:2]}, err: "3×3 matrix with 3 row and 2 column labels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := filepath.Join(t.TempDir(), "heat")
			paths, err := tc.h.Save(base + ".png")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			figuretest.Check(t, paths, base)
		})
	}
}

func TestHeatmapFunc(t *testing.T) {
	base := filepath.Join(t.TempDir(), "transfer")
	paths, err := Heatmap([][]float64{{1, 2}, {3, 4}}, []string{"a", "b"}, []string{"c", "d"}, "t", base)
	if err != nil {
		t.Fatal(err)
	}
	figuretest.Check(t, paths, base)
}

func TestLinePlot(t *testing.T) {
	nan := math.NaN()
	base := filepath.Join(t.TempDir(), "dims")
	paths, err := LinePlot([]Series{
		{Label: "Intrinsic", X: []float64{8, 16, 32}, Y: []float64{80, 84, 86}, Err: []float64{1, 2, nan}},
		{Label: "Random", X: []float64{8, 16, 32}, Y: []float64{60, nan, 64}},
		{Label: "Full", X: []float64{8, 32}, Y: []float64{87, 87}, Dashed: true, NoPoint: true},
		{Label: "nothing", X: []float64{1}, Y: []float64{nan}},
	}, "score against d", "d", "score ×100", base+".svg")
	if err != nil {
		t.Fatal(err)
	}
	figuretest.Check(t, paths, base)

	if _, err := LinePlot([]Series{{Label: "bad", X: []float64{1, 2}, Y: []float64{1}}}, "t", "x", "y", base); err == nil {
		t.Errorf("mismatched series: no error")
	}
	// A single point (zero range on both axes) still draws.
	paths, err = LinePlot([]Series{{Label: "one", X: []float64{4}, Y: []float64{0}}}, "t", "x", "y", base+"1")
	if err != nil {
		t.Fatal(err)
	}
	figuretest.Check(t, paths, base+"1")
}

func TestLogTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		labels []string
	}{
		{0.016, 10, []string{"0.1", "1", "10"}},
		{3, 80, []string{"5", "10", "20", "50"}},
		{6e-5, 3, []string{"1e-04", "0.001", "0.01", "0.1", "1"}},
	} {
		var got []string
		for _, tk := range (LogTicks{}).Ticks(tc.lo, tc.hi) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if !slices.Equal(got, tc.labels) {
			t.Errorf("LogTicks(%g, %g) labels %q, want %q", tc.lo, tc.hi, got, tc.labels)
		}
	}
}
