package figure

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// HeatmapPlot is a labelled matrix drawn as coloured cells with their
// values written in, and a colour bar: the transfer matrix of the paper's
// Fig. 2, for example.
type HeatmapPlot struct {
	Matrix    [][]float64 // Matrix[i][j] is row i, column j; NaN cells are grey
	RowLabels []string    // top to bottom, len(Matrix)
	ColLabels []string    // left to right, len(Matrix[i])
	Title     string
	RowAxis   string // e.g. "subspace from"
	ColAxis   string // e.g. "fine-tuned on"
	// Format writes each cell's value (default "%.1f"); "-" writes none.
	Format string
	// Min and Max fix the colour range; if both are 0 it is the data's.
	Min, Max float64
	// Diverging uses a blue–white–red scale centred on 0 (for drops and
	// differences) instead of light-to-dark for larger values.
	Diverging bool
}

// Heatmap draws matrix with its row and column labels and saves it as
// path's .png and .svg (path may name either, or neither). It returns the
// paths written. See [HeatmapPlot] for axis names and colour options.
func Heatmap(matrix [][]float64, rowLabels, colLabels []string, title, path string) ([]string, error) {
	return HeatmapPlot{Matrix: matrix, RowLabels: rowLabels, ColLabels: colLabels, Title: title}.Save(path)
}

// heatGrid is a plotter.GridXYZ with row 0 at the top.
type heatGrid struct{ m [][]float64 }

func (g heatGrid) Dims() (c, r int)   { return len(g.m[0]), len(g.m) }
func (g heatGrid) Z(c, r int) float64 { return g.m[len(g.m)-1-r][c] }
func (g heatGrid) X(c int) float64    { return float64(c) }
func (g heatGrid) Y(r int) float64    { return float64(r) }

// Save draws h into path's .png and .svg and returns the paths written.
func (h HeatmapPlot) Save(path string) ([]string, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	nr, nc := len(h.Matrix), len(h.Matrix[0])
	lo, hi := h.valueRange()
	cmap, err := h.colourMap()
	if err != nil {
		return nil, err
	}
	cmap.SetMin(lo)
	cmap.SetMax(hi)
	// An even count: palette.Reverse's Palette leaves the middle colour of
	// an odd count nil (gonum/plot v0.17).
	pal := cmap.Palette(256)

	p := plot.New()
	p.Title.Text = h.Title
	p.X.Label.Text = h.ColAxis
	p.Y.Label.Text = h.RowAxis
	hm := plotter.NewHeatMap(heatGrid{h.Matrix}, pal)
	hm.Min, hm.Max = lo, hi
	hm.NaN = color.Gray{0xc8}
	hm.Underflow, hm.Overflow = pal.Colors()[0], pal.Colors()[len(pal.Colors())-1]
	p.Add(hm)
	p.X.Tick.Marker = integerTicks(h.ColLabels, false)
	p.Y.Tick.Marker = integerTicks(h.RowLabels, true)
	p.X.Padding, p.Y.Padding = 0, 0
	if nc > 4 {
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YTop
	}
	if h.Format != "-" {
		if err := h.addValues(p, hm, pal.Colors(), lo, hi); err != nil {
			return nil, err
		}
	}

	bar := plot.New()
	bar.HideX()
	bar.Y.Padding = 0
	bar.Add(&plotter.ColorBar{ColorMap: cmap, Vertical: true})

	cell := 0.8 * vg.Inch
	w := max(4*vg.Inch, vg.Length(nc)*cell+2.2*vg.Inch)
	ht := max(3*vg.Inch, vg.Length(nr)*cell*0.7+1.6*vg.Inch)
	barW := 0.9 * vg.Inch
	return Save(Base(path), w, ht, func(dc draw.Canvas) {
		main := draw.Crop(dc, vg.Points(6), -barW, vg.Points(6), -vg.Points(6))
		p.Draw(main)
		// The bar spans the heat map's vertical extent, roughly: below the
		// title and above the tick labels.
		side := draw.Crop(dc, w-barW+vg.Points(12), -vg.Points(18), vg.Points(40), -vg.Points(30))
		bar.Draw(side)
	})
}

// check refuses an empty or ragged matrix and labels that do not fit it.
func (h HeatmapPlot) check() error {
	nr := len(h.Matrix)
	if nr == 0 || len(h.Matrix[0]) == 0 {
		return fmt.Errorf("figure: heatmap %q: empty matrix", h.Title)
	}
	nc := len(h.Matrix[0])
	for i, row := range h.Matrix {
		if len(row) != nc {
			return fmt.Errorf("figure: heatmap %q: row %d has %d columns, row 0 has %d", h.Title, i, len(row), nc)
		}
	}
	if len(h.RowLabels) != nr || len(h.ColLabels) != nc {
		return fmt.Errorf("figure: heatmap %q: %d×%d matrix with %d row and %d column labels",
			h.Title, nr, nc, len(h.RowLabels), len(h.ColLabels))
	}
	return nil
}

// valueRange is the range the colours span: h.Min..h.Max if set, else the
// finite values' (symmetric about 0 when diverging), never empty.
func (h HeatmapPlot) valueRange() (lo, hi float64) {
	lo, hi = h.Min, h.Max
	if lo == 0 && hi == 0 {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, row := range h.Matrix {
			for _, v := range row {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
		}
		if h.Diverging && lo <= hi {
			a := max(math.Abs(lo), math.Abs(hi))
			lo, hi = -a, a
		}
	}
	switch {
	case lo > hi: // no finite value
		lo, hi = 0, 1
	case lo == hi:
		lo, hi = lo-0.5, hi+0.5
	}
	return lo, hi
}

func (h HeatmapPlot) colourMap() (palette.ColorMap, error) {
	if h.Diverging {
		return moreland.SmoothBlueRed(), nil
	}
	// Light yellow to dark blue (ColorBrewer YlGnBu's ends), larger darker.
	cmap, err := moreland.NewLuminance([]color.Color{
		color.NRGBA{0x08, 0x1d, 0x58, 0xff}, color.NRGBA{0x22, 0x5e, 0xa8, 0xff},
		color.NRGBA{0x41, 0xb6, 0xc4, 0xff}, color.NRGBA{0xc7, 0xe9, 0xb4, 0xff},
		color.NRGBA{0xff, 0xff, 0xd9, 0xff},
	})
	if err != nil {
		return nil, fmt.Errorf("figure: heatmap colour map: %w", err)
	}
	return palette.Reverse(cmap), nil
}

// addValues writes each cell's value on it, in black on light cells and
// white on dark ones.
func (h HeatmapPlot) addValues(p *plot.Plot, hm *plotter.HeatMap, cols []color.Color, lo, hi float64) error {
	format := h.Format
	if format == "" {
		format = "%.1f"
	}
	nr := len(h.Matrix)
	var dark, light plotter.XYLabels
	for i, row := range h.Matrix {
		for j, v := range row {
			xy := plotter.XY{X: float64(j), Y: float64(nr - 1 - i)}
			text := fmt.Sprintf(format, v)
			if math.IsNaN(v) {
				text = "—"
			}
			// The cell's colour as HeatMap picks it.
			c := color.Color(hm.NaN)
			if !math.IsNaN(v) {
				k := int((min(max(v, lo), hi)-lo)*float64(len(cols)-1)/(hi-lo) + 0.5)
				c = cols[k]
			}
			if luminance(c) < 0.45 {
				light.XYs, light.Labels = append(light.XYs, xy), append(light.Labels, text)
			} else {
				dark.XYs, dark.Labels = append(dark.XYs, xy), append(dark.Labels, text)
			}
		}
	}
	for _, set := range []struct {
		l plotter.XYLabels
		c color.Color
	}{{dark, color.Black}, {light, color.White}} {
		if len(set.l.XYs) == 0 {
			continue
		}
		labels, err := plotter.NewLabels(set.l)
		if err != nil {
			return fmt.Errorf("figure: heatmap %q: %w", h.Title, err)
		}
		for i := range labels.TextStyle {
			labels.TextStyle[i].Color = set.c
			labels.TextStyle[i].XAlign = draw.XCenter
			labels.TextStyle[i].YAlign = draw.YCenter
			labels.TextStyle[i].Font.Size = vg.Points(9)
		}
		p.Add(labels)
	}
	return nil
}
