package figure

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one curve of a [LinePlot]: Y against X with optional ±Err
// bars (a standard deviation over seeds, say). Points whose X or Y is not
// finite are skipped; a non-finite Err draws no bar.
type Series struct {
	Label   string
	X, Y    []float64
	Err     []float64 // nil, or len(X)
	Dashed  bool
	NoPoint bool // line only, no markers
}

// LinePlot draws the series (e.g. score against subspace dimension d or
// trajectory length t, one curve per method) and saves them as path's .png
// and .svg. It returns the paths written.
func LinePlot(series []Series, title, xLabel, yLabel, path string) ([]string, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	shown := 0
	for i, s := range series {
		if len(s.Y) != len(s.X) || (s.Err != nil && len(s.Err) != len(s.X)) {
			return nil, fmt.Errorf("figure: line plot %q: series %q has %d x, %d y and %d err values",
				title, s.Label, len(s.X), len(s.Y), len(s.Err))
		}
		var xys plotter.XYs
		var errs plotter.XYs
		var bars plotter.YErrors
		for k := range s.X {
			if !finite(s.X[k]) || !finite(s.Y[k]) {
				continue
			}
			xy := plotter.XY{X: s.X[k], Y: s.Y[k]}
			xys = append(xys, xy)
			e := 0.0
			if s.Err != nil && finite(s.Err[k]) {
				errs = append(errs, xy)
				e = math.Abs(s.Err[k])
				bars = append(bars, struct{ Low, High float64 }{e, e})
			}
			xlo, xhi = min(xlo, xy.X), max(xhi, xy.X)
			ylo, yhi = min(ylo, xy.Y-e), max(yhi, xy.Y+e)
		}
		if len(xys) == 0 {
			continue
		}
		shown++
		c := plotutil.Color(i)
		l, sc, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("figure: line plot %q: %w", title, err)
		}
		l.Color, l.Width = c, vg.Points(1.5)
		if s.Dashed {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		sc.Color, sc.Shape, sc.Radius = c, plotutil.Shape(i), vg.Points(3)
		p.Add(l)
		if s.NoPoint {
			p.Legend.Add(s.Label, l)
		} else {
			p.Add(sc)
			p.Legend.Add(s.Label, l, sc)
		}
		if len(errs) > 0 {
			eb := &plotter.YErrorBars{XYs: errs, YErrors: bars, LineStyle: draw.LineStyle{Color: c, Width: vg.Points(1)}, CapWidth: vg.Points(6)}
			p.Add(eb)
		}
	}
	if shown > 0 {
		// Room at the sides for the end markers and on top for the legend,
		// so it covers no data.
		dx, dy := xhi-xlo, yhi-ylo
		if dx == 0 {
			dx = math.Max(1, math.Abs(xlo))
		}
		if dy == 0 {
			dy = math.Max(1, math.Abs(ylo))
		}
		p.X.Min, p.X.Max = xlo-0.05*dx, xhi+0.05*dx
		p.Y.Min, p.Y.Max = ylo-0.05*dy, yhi+dy*(0.05+0.09*float64(shown))
	}
	pad := vg.Points(6)
	return Save(Base(path), 6*vg.Inch, 4*vg.Inch, func(dc draw.Canvas) {
		p.Draw(draw.Crop(dc, pad, -pad, pad, -pad))
	})
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
