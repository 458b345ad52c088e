package report

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/internal/figuretest"
)

func TestPlotSpectra(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name    string
		spectra []Spectrum
		files   []string // base names
		text    []string // strings the SVG must contain
	}{
		{
			name:  "fixture",
			files: []string{"spectrum_cola", "spectrum_sst2", "spectrum_stsb"},
			text:  []string{"layer 0", "layer 2", "CoLA: singular values"},
		},
		{
			name: "zeros, NaN and one layer",
			spectra: []Spectrum{
				{Task: "rte", Layer: 5, SingularValues: []float64{4, 2, 0, nan, 1e-9}},
				{Task: "my/task", Layer: 0, SingularValues: []float64{1}},
				{Task: "empty", Layer: 0, SingularValues: nil},
			},
			files: []string{"spectrum_rte", "spectrum_my_task"},
			text:  []string{"layer 5"},
		},
		{
			name:    "all zero",
			spectra: []Spectrum{{Task: "sst2", Layer: 0, SingularValues: []float64{0, 0}}},
			files:   []string{"spectrum_sst2"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fixture()
			if tc.spectra != nil {
				r = Results{Spectra: tc.spectra}
			}
			dir := t.TempDir()
			paths, err := PlotSpectra(r, dir)
			if err != nil {
				t.Fatal(err)
			}
			var bases []string
			for _, f := range tc.files {
				bases = append(bases, filepath.Join(dir, f))
			}
			figuretest.Check(t, paths, bases...)
			svg, _ := os.ReadFile(bases[0] + ".svg")
			for _, s := range tc.text {
				if !strings.Contains(string(svg), s) {
					t.Errorf("%s.svg lacks %q", bases[0], s)
				}
			}
		})
	}
}

func TestPlotSpectraNone(t *testing.T) {
	paths, err := PlotSpectra(Results{Tasks: []string{"sst2"}}, t.TempDir())
	if err != nil || len(paths) != 0 {
		t.Errorf("PlotSpectra without spectra = %q, %v", paths, err)
	}
}
