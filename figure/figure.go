package figure

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/subtune/subtune/atomicfile"
)

// pngDPI is the resolution of PNG figures: sharp on high-density screens,
// still small files.
const pngDPI = 144

// Save renders paint at w×h into base+".png" and base+".svg", each
// written atomically, and returns the two paths.
func Save(base string, w, h vg.Length, paint func(dc draw.Canvas)) ([]string, error) {
	// A white background, so the figure reads in dark themes too.
	png := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI), vgimg.UseBackgroundColor(color.White))
	paint(draw.New(png))
	svg := vgsvg.New(w, h)
	var bg vg.Path
	bg.Move(vg.Point{})
	bg.Line(vg.Point{X: w})
	bg.Line(vg.Point{X: w, Y: h})
	bg.Line(vg.Point{Y: h})
	bg.Close()
	svg.SetColor(color.White)
	svg.Fill(bg)
	paint(draw.New(svg))

	var paths []string
	for _, f := range []struct {
		ext string
		w   io.WriterTo
	}{{".png", vgimg.PngCanvas{Canvas: png}}, {".svg", svg}} {
		path := base + f.ext
		if err := atomicfile.WriteFile(path, func(w io.Writer) error {
			_, err := f.w.WriteTo(w)
			return err
		}); err != nil {
			return paths, fmt.Errorf("figure: %w", err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// Base strips a .png or .svg extension, so callers may name either
// file or neither.
func Base(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png", ".svg":
		return strings.TrimSuffix(path, filepath.Ext(path))
	}
	return path
}

// FileSafe makes s usable in a file name and a Markdown link: letters,
// digits, '.', '-' and '_' are kept, anything else becomes '_'.
func FileSafe(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// LogTicks labels 1, 2 and 5 × 10^k when the axis spans at most two
// decades (plot.LogTicks would label at most one or two values there) and
// 10^k otherwise, with unlabelled minor ticks at the other integers × 10^k.
type LogTicks struct{}

func (LogTicks) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= 0 || !(lo < hi) {
		return nil
	}
	dense := math.Log10(hi/lo) <= 2
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		p := math.Pow(10, e)
		for m := 1.0; m <= 9; m++ {
			v := m * p
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (dense && (m == 2 || m == 5)) {
				t.Label = formatTick(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

func formatTick(v float64) string {
	if v >= 1e-3 && v < 1e5 {
		return fmt.Sprintf("%g", v)
	}
	return fmt.Sprintf("%.0e", v)
}

// integerTicks labels integer positions with names (heat-map rows and
// columns).
func integerTicks(labels []string, reversed bool) plot.ConstantTicks {
	ticks := make(plot.ConstantTicks, len(labels))
	for i, l := range labels {
		pos := i
		if reversed {
			pos = len(labels) - 1 - i
		}
		ticks[i] = plot.Tick{Value: float64(pos), Label: l}
	}
	return ticks
}

// luminance is the relative luminance of c in 0..1.
func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	return (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 0xffff
}
