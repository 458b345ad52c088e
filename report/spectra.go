package report

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/subtune/subtune/figure"
	"github.com/subtune/subtune/glue"
)

// SpectrumFile is the base name (without .png/.svg) PlotSpectra gives the
// figure of task.
func SpectrumFile(task string) string { return "spectrum_" + figure.FileSafe(task) }

// PlotSpectra draws, for each task with spectra, one figure of two panels:
// the singular values σ_1..σ_t of each layer (log scale, one line per
// layer, early layers dark blue, late layers orange) and the explained variance
// Σ_{i≤k} σ_i² / Σ σ_i² against k. Each is saved in dir as
// spectrum_<task>.png and .svg; the paths are returned in task order.
// Non-positive or non-finite σ are left off the log-scale panel.
func PlotSpectra(r Results, dir string) ([]string, error) {
	var paths []string
	for _, task := range r.AllTasks() {
		var spectra []Spectrum
		for _, s := range r.Spectra {
			if s.Task == task && len(s.SingularValues) > 0 {
				spectra = append(spectra, s)
			}
		}
		if len(spectra) == 0 {
			continue
		}
		slices.SortStableFunc(spectra, func(a, b Spectrum) int { return a.Layer - b.Layer })
		p, err := plotSpectra(task, spectra, filepath.Join(dir, SpectrumFile(task)))
		paths = append(paths, p...)
		if err != nil {
			return paths, err
		}
	}
	return paths, nil
}

func plotSpectra(task string, spectra []Spectrum, base string) ([]string, error) {
	sv := plot.New()
	sv.Title.Text = glue.DisplayName(task) + ": singular values σ(i) per layer"
	sv.X.Label.Text = "index i"
	// Kept short: gonum centres the y label on the arithmetic midpoint of
	// the range, which a log scale puts near the top, so a long label
	// would push the panel down.
	sv.Y.Label.Text = "σ(i)"
	sv.Y.Scale = plot.LogScale{}
	sv.Y.Tick.Marker = figure.LogTicks{}
	sv.Add(plotter.NewGrid())

	ev := plot.New()
	ev.Title.Text = glue.DisplayName(task) + ": explained variance"
	ev.X.Label.Text = "number of directions k"
	ev.Y.Label.Text = "share of Σσ² in the first k"
	ev.Y.Min, ev.Y.Max = 0, 1
	// The cumulative share is concave and at least k/t, so the bottom right
	// of this panel is always free for the legend.
	ev.Legend.XOffs, ev.Legend.YOffs = -vg.Points(8), vg.Points(8)
	ev.Legend.TextStyle.Font.Size = vg.Points(8)
	ev.Add(plotter.NewGrid())

	colors := layerColors(len(spectra))
	maxT := 0
	posLo, posHi := math.Inf(1), math.Inf(-1)
	for i, s := range spectra {
		maxT = max(maxT, len(s.SingularValues))
		var pos, cum plotter.XYs
		var total float64
		for _, x := range s.SingularValues {
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				total += x * x
			}
		}
		var acc float64
		for k, x := range s.SingularValues {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				continue
			}
			if x > 0 {
				pos = append(pos, plotter.XY{X: float64(k + 1), Y: x})
				posLo, posHi = min(posLo, x), max(posHi, x)
			}
			acc += x * x
			if total > 0 {
				cum = append(cum, plotter.XY{X: float64(k + 1), Y: acc / total})
			}
		}
		label := fmt.Sprintf("layer %d", s.Layer)
		style := func(l *plotter.Line, sc *plotter.Scatter) {
			l.Color = colors[i]
			l.Width = vg.Points(1.2)
			sc.Color = colors[i]
			sc.Radius = vg.Points(1.6)
			sc.Shape = draw.CircleGlyph{}
		}
		if len(pos) > 0 {
			l, sc, err := plotter.NewLinePoints(pos)
			if err != nil {
				return nil, fmt.Errorf("report: spectrum of %s layer %d: %w", task, s.Layer, err)
			}
			style(l, sc)
			sv.Add(l, sc)
		}
		if len(cum) > 0 {
			l, sc, err := plotter.NewLinePoints(cum)
			if err != nil {
				return nil, fmt.Errorf("report: spectrum of %s layer %d: %w", task, s.Layer, err)
			}
			style(l, sc)
			ev.Add(l, sc)
			ev.Legend.Add(label, l, sc)
		}
	}
	switch {
	case posLo > posHi: // nothing positive: a log scale would panic
		sv.Y.Scale, sv.Y.Tick.Marker = plot.LinearScale{}, plot.DefaultTicks{}
		sv.Title.Text += " (none positive)"
	case posLo == posHi:
		sv.Y.Min, sv.Y.Max = posLo/2, posHi*2
	default:
		sv.Y.Min, sv.Y.Max = posLo, posHi
	}
	sv.X.Min, sv.X.Max = 0.5, float64(maxT)+0.5
	ev.X.Min, ev.X.Max = 0.5, float64(maxT)+0.5
	if maxT <= 40 {
		sv.X.Tick.Marker = indexTicks{}
		ev.X.Tick.Marker = indexTicks{}
	}

	w, h := 10*vg.Inch, 4*vg.Inch
	return figure.Save(base, w, h, func(dc draw.Canvas) {
		pad := vg.Points(8)
		half := (dc.Max.X - dc.Min.X) / 2
		sv.Draw(draw.Crop(dc, pad, -half-pad, pad, -pad))
		ev.Draw(draw.Crop(dc, half+pad, -pad, pad, -pad))
	})
}

// indexTicks labels integer indices: every one up to 10, then every 2nd,
// 4th or 8th, so 32 checkpoints stay readable.
type indexTicks struct{}

func (indexTicks) Ticks(lo0, hi0 float64) []plot.Tick {
	lo, hi := int(math.Ceil(lo0)), int(math.Floor(hi0))
	step := 1
	for (hi-lo+1)/step > 10 {
		step *= 2
	}
	var ticks []plot.Tick
	for i := max(lo, 1); i <= hi; i++ {
		t := plot.Tick{Value: float64(i)}
		if i == 1 || i%step == 0 {
			t.Label = fmt.Sprint(i)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// layerAnchors are the stops of the layer colour scale (matplotlib's
// plasma without its pale yellow end, so every line shows on white).
var layerAnchors = [][3]float64{
	{0x0d, 0x08, 0x87}, {0x7e, 0x03, 0xa8}, {0xcc, 0x47, 0x78}, {0xf8, 0x95, 0x40},
}

// layerColors runs from dark blue (first layer) through purple and red to
// orange (last layer).
func layerColors(n int) []color.Color {
	out := make([]color.Color, n)
	for i := range out {
		f := 0.0
		if n > 1 {
			f = float64(i) / float64(n-1)
		}
		pos := f * float64(len(layerAnchors)-1)
		k := min(int(pos), len(layerAnchors)-2)
		t := pos - float64(k)
		a, b := layerAnchors[k], layerAnchors[k+1]
		ch := func(c int) uint8 { return uint8(math.Round(a[c] + t*(b[c]-a[c]))) }
		out[i] = color.NRGBA{ch(0), ch(1), ch(2), 0xff}
	}
	return out
}
