package outliers

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/subtune/subtune/figure"
)

var (
	profileColor = color.NRGBA{0x70, 0x70, 0x70, 0xff}
	outlierColor = color.NRGBA{0xd6, 0x27, 0x28, 0xff}
	anyColor     = color.NRGBA{0xbf, 0xcf, 0xe6, 0xff}
	sigColor     = color.NRGBA{0x1f, 0x4e, 0x9a, 0xff}
)

// Plot draws the paper's Fig. 4 for r: one panel per layer, the update's
// largest |Δ − mean| per hidden dimension in units of the layer's standard
// deviation, the σ threshold dashed, and the dimensions that concentrate
// the layer's outliers beyond chance marked in red (the most frequent ones
// labelled). It saves path's .png and .svg (path may name either, or
// neither) and returns the paths written.
func (r *Result) Plot(title, path string) ([]string, error) {
	L := r.NumLayers
	cols := min(L, 4)
	rows := (L + cols - 1) / cols
	recur := map[int]int{}
	for _, d := range r.Dims {
		recur[d.Hidden] = len(d.Significant)
	}
	yMax := r.Sigma * 1.1
	for _, st := range r.Layers {
		for _, v := range st.Peak {
			if !math.IsInf(v, 0) && !math.IsNaN(v) {
				yMax = max(yMax, v)
			}
		}
	}
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
	}
	for l, st := range r.Layers {
		p, err := r.layerPanel(l, st, cols, rows, yMax, recur)
		if err != nil {
			return nil, err
		}
		grid[l/cols][l%cols] = p
	}
	w := vg.Length(cols) * 3 * vg.Inch
	h := vg.Length(rows)*2.1*vg.Inch + 0.4*vg.Inch
	return figure.Save(figure.Base(path), w, h, func(dc draw.Canvas) {
		top := dc
		top.Min.Y = top.Max.Y - 0.4*vg.Inch
		body := dc
		body.Max.Y -= 0.4 * vg.Inch
		fnt := plot.DefaultFont
		fnt.Size = vg.Points(12)
		sty := draw.TextStyle{Color: color.Black, Font: fnt, XAlign: draw.XCenter, YAlign: draw.YCenter,
			Handler: plot.DefaultTextHandler}
		top.FillText(sty, vg.Point{X: (top.Min.X + top.Max.X) / 2, Y: (top.Min.Y + top.Max.Y) / 2}, title)
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(6), PadY: vg.Points(6),
			PadTop: vg.Points(4), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(8)}
		canvases := plot.Align(grid, tiles, body)
		for i := range grid {
			for j, p := range grid[i] {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
	})
}

// layerPanel is layer st's panel of Plot, the l-th of a rows×cols grid:
// the peak profile, the σ threshold and the marked dimensions.
func (r *Result) layerPanel(l int, st LayerStats, cols, rows int, yMax float64, recur map[int]int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("layer %d: %s outliers", st.Layer, count(st.Count))
	p.Title.TextStyle.Font.Size = vg.Points(9)
	p.X.Tick.Label.Font.Size = vg.Points(7)
	p.Y.Tick.Label.Font.Size = vg.Points(7)
	if l/cols == rows-1 || l+cols >= r.NumLayers {
		p.X.Label.Text = "hidden dimension"
		p.X.Label.TextStyle.Font.Size = vg.Points(8)
	}
	if l%cols == 0 {
		p.Y.Label.Text = "max |Δ−mean| / std"
		p.Y.Label.TextStyle.Font.Size = vg.Points(8)
	}
	p.X.Min, p.X.Max = -0.5, float64(r.HiddenSize)-0.5
	p.Y.Min, p.Y.Max = 0, yMax*1.12
	pts := make(plotter.XYs, r.HiddenSize)
	for h, v := range st.Peak {
		pts[h] = plotter.XY{X: float64(h), Y: v}
	}
	line, err := plotter.NewLine(pts)
	if err != nil {
		return nil, fmt.Errorf("outliers: plot of layer %d: %w", st.Layer, err)
	}
	line.Color, line.Width = profileColor, vg.Points(0.6)
	p.Add(line)
	thr, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: r.Sigma}, {X: p.X.Max, Y: r.Sigma}})
	if err != nil {
		return nil, fmt.Errorf("outliers: plot of layer %d: %w", st.Layer, err)
	}
	thr.Color, thr.Width = color.Black, vg.Points(0.6)
	thr.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
	p.Add(thr)
	if len(st.Dims) > 0 {
		if err := markDims(p, st, recur); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// markDims marks the dimensions that concentrate st's outliers in red and
// labels the three recurring in the most layers.
func markDims(p *plot.Plot, st LayerStats, recur map[int]int) error {
	var marks plotter.XYs
	var labels plotter.XYLabels
	best := append([]int(nil), st.Dims...)
	sortByRecurrence(best, recur)
	labelled := map[int]bool{}
	for _, h := range best[:min(3, len(best))] {
		labelled[h] = true
	}
	for _, h := range st.Dims {
		xy := plotter.XY{X: float64(h), Y: st.Peak[h]}
		marks = append(marks, xy)
		if labelled[h] {
			labels.XYs = append(labels.XYs, xy)
			labels.Labels = append(labels.Labels, " "+strconv.Itoa(h))
		}
	}
	sc, err := plotter.NewScatter(marks)
	if err != nil {
		return fmt.Errorf("outliers: plot of layer %d: %w", st.Layer, err)
	}
	sc.Color, sc.Shape, sc.Radius = outlierColor, draw.CircleGlyph{}, vg.Points(2.2)
	p.Add(sc)
	if len(labels.XYs) == 0 {
		return nil
	}
	lb, err := plotter.NewLabels(labels)
	if err != nil {
		return fmt.Errorf("outliers: plot of layer %d: %w", st.Layer, err)
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].Color = outlierColor
		lb.TextStyle[i].Font.Size = vg.Points(7)
		lb.TextStyle[i].YAlign = draw.YBottom
	}
	p.Add(lb)
	return nil
}

// PlotRecurrence draws, per hidden dimension, the number of layers in which
// it concentrates outliers beyond chance (dark) and in which it has any
// outlier (light), labelling the top dimensions. It saves path's .png and
// .svg and returns the paths written.
func (r *Result) PlotRecurrence(title, path string, top int) ([]string, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "hidden dimension"
	p.Y.Label.Text = "layers"
	p.X.Min, p.X.Max = -0.5, float64(r.HiddenSize)-0.5
	p.Y.Min, p.Y.Max = 0, float64(r.NumLayers)*1.15+0.5
	p.Add(plotter.NewGrid())
	anyPts := make(plotter.XYs, 0, len(r.Dims))
	sigPts := make(plotter.XYs, 0, len(r.Dims))
	for _, d := range r.Dims {
		anyPts = append(anyPts, plotter.XY{X: float64(d.Hidden), Y: float64(len(d.Layers))})
		if len(d.Significant) > 0 {
			sigPts = append(sigPts, plotter.XY{X: float64(d.Hidden), Y: float64(len(d.Significant))})
		}
	}
	add := func(pts plotter.XYs, c color.Color, width vg.Length, label string) error {
		if len(pts) == 0 {
			return nil
		}
		stems, err := plotter.NewScatter(pts)
		if err != nil {
			return fmt.Errorf("outliers: recurrence plot: %w", err)
		}
		stems.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(1.5), Shape: draw.CircleGlyph{}}
		for _, xy := range pts {
			l, err := plotter.NewLine(plotter.XYs{{X: xy.X, Y: 0}, xy})
			if err != nil {
				return fmt.Errorf("outliers: recurrence plot: %w", err)
			}
			l.Color, l.Width = c, width
			p.Add(l)
		}
		p.Add(stems)
		p.Legend.Add(label, stems)
		return nil
	}
	if err := add(anyPts, anyColor, vg.Points(1), "layers with any outlier"); err != nil {
		return nil, err
	}
	if err := add(sigPts, sigColor, vg.Points(1.5), "layers where it concentrates outliers beyond chance"); err != nil {
		return nil, err
	}
	var labels plotter.XYLabels
	for i, d := range r.Dims {
		if i == top || len(d.Significant) == 0 {
			break
		}
		labels.XYs = append(labels.XYs, plotter.XY{X: float64(d.Hidden), Y: float64(len(d.Significant))})
		labels.Labels = append(labels.Labels, " "+strconv.Itoa(d.Hidden))
	}
	if len(labels.XYs) > 0 {
		lb, err := plotter.NewLabels(labels)
		if err != nil {
			return nil, fmt.Errorf("outliers: recurrence plot: %w", err)
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Color = sigColor
			lb.TextStyle[i].Font.Size = vg.Points(8)
			lb.TextStyle[i].YAlign = draw.YBottom
		}
		p.Add(lb)
	}
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	pad := vg.Points(6)
	return figure.Save(figure.Base(path), 8*vg.Inch, 3.5*vg.Inch, func(dc draw.Canvas) {
		p.Draw(draw.Crop(dc, pad, -pad, pad, -pad))
	})
}

func sortByRecurrence(hs []int, recur map[int]int) {
	for i := 1; i < len(hs); i++ {
		for j := i; j > 0 && (recur[hs[j]] > recur[hs[j-1]] || recur[hs[j]] == recur[hs[j-1]] && hs[j] < hs[j-1]); j-- {
			hs[j], hs[j-1] = hs[j-1], hs[j]
		}
	}
}
