package outliers

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/subtune/subtune/report"
)

// Summary is a one-paragraph account of r.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s of %s encoder parameters (%.3f%%) lie at least %gσ from their layer's mean",
		count(r.Count), count(r.Total), 100*r.Fraction, r.Sigma)
	fmt.Fprintf(&b, " (a normal distribution puts %.3f%% there; the paper reports ≈0.3%% for BERT-base).", 100*r.NormalFraction)
	rec := r.Recurring(1)
	switch {
	case len(rec) == 0:
		b.WriteString(" No hidden dimension concentrates outliers beyond chance in any layer.")
	default:
		top := rec[0]
		fmt.Fprintf(&b, " %d hidden dimension(s) concentrate outliers beyond chance in at least one layer; the most recurrent, %d, in %d of %d layers.",
			len(rec), top.Hidden, len(top.Significant), r.NumLayers)
	}
	return b.String()
}

// TensorTable is the paper's Table 4 layout: one row per parameter tensor
// of a layer, one column per layer, the number of outliers in each cell
// ("·" for none), with the row's total and its share of the tensor's
// entries over all layers.
func (r *Result) TensorTable() string {
	header := []string{"parameter"}
	for l := 0; l < r.NumLayers; l++ {
		header = append(header, "L"+strconv.Itoa(l))
	}
	header = append(header, "total", "% of tensor")
	var rows [][]string
	for _, t := range r.Tensors {
		row := []string{t.Tensor}
		for _, c := range t.PerLayer {
			row = append(row, dot(c))
		}
		row = append(row, dot(t.Total), fmt.Sprintf("%.2f", 100*float64(t.Total)/float64(t.Size*r.NumLayers)))
		rows = append(rows, row)
	}
	all := []string{"**all**"}
	for _, st := range r.Layers {
		all = append(all, dot(st.Count))
	}
	all = append(all, dot(r.Count), fmt.Sprintf("%.2f", 100*r.Fraction))
	return report.MarkdownTable(header, append(rows, all))
}

// LayerTable lists each layer's statistics and the hidden dimensions that
// concentrate its outliers.
func (r *Result) LayerTable() string {
	header := []string{"layer", "mean Δ", "std Δ", "max |z|", "outliers", "% of layer", "expected per dim", "significant at ≥", "dims beyond chance"}
	var rows [][]string
	for _, st := range r.Layers {
		rows = append(rows, []string{strconv.Itoa(st.Layer), fmt.Sprintf("%.3g", st.Mean), fmt.Sprintf("%.3g", st.Std),
			fmt.Sprintf("%.1f", st.MaxAbsZ), count(st.Count), fmt.Sprintf("%.3f", 100*float64(st.Count)/float64(r.LayerSize)),
			fmt.Sprintf("%.2f", st.Expected), strconv.Itoa(st.MinSignificant), intList(st.Dims, 8)})
	}
	return report.MarkdownTable(header, rows)
}

// DimsTable lists the top hidden dimensions (Result.Dims order): in how
// many layers each concentrates outliers beyond chance, in how many it has
// any, its outliers against chance's expectation, and the tensors holding
// them.
func (r *Result) DimsTable(top int) string {
	header := []string{"rank", "hidden dim", "layers beyond chance", "layers with any", "outliers", "expected", "tensors"}
	var rows [][]string
	for i, d := range r.Dims {
		if i == top {
			break
		}
		rows = append(rows, []string{strconv.Itoa(i + 1), strconv.Itoa(d.Hidden),
			fmt.Sprintf("%d/%d %s", len(d.Significant), r.NumLayers, layerList(d.Significant)),
			fmt.Sprintf("%d/%d", len(d.Layers), r.NumLayers), count(d.Entries), fmt.Sprintf("%.1f", d.Expected),
			tensorList(d.Tensors, 3)})
	}
	return report.MarkdownTable(header, rows)
}

// Markdown is the whole analysis as a Markdown section body.
func (r *Result) Markdown(top int) string {
	var b strings.Builder
	b.WriteString(r.Summary())
	b.WriteString("\n\n### Outliers per parameter and layer (Table 4)\n\n")
	b.WriteString(r.TensorTable())
	fmt.Fprintf(&b, "\n### Hidden dimensions that recur across layers (top %d)\n\n", top)
	b.WriteString(r.DimsTable(top))
	b.WriteString("\n### Per layer\n\n")
	b.WriteString(r.LayerTable())
	fmt.Fprintf(&b, "\nA dimension is \"beyond chance\" in a layer when its outliers are more than a Poisson count of the layer's rate explains at level %g/H (Bonferroni over the %d hidden dimensions).\n",
		Alpha, r.HiddenSize)
	return b.String()
}

func dot(n int) string {
	if n == 0 {
		return "·"
	}
	return count(n)
}

func count(n int) string { return report.CompactCount(n) }

func intList(xs []int, limit int) string {
	if len(xs) == 0 {
		return "—"
	}
	var parts []string
	for i, x := range xs {
		if i == limit {
			parts = append(parts, fmt.Sprintf("… (+%d)", len(xs)-limit))
			break
		}
		parts = append(parts, strconv.Itoa(x))
	}
	return strings.Join(parts, ", ")
}

func layerList(ls []int) string {
	if len(ls) == 0 {
		return ""
	}
	return "(" + intList(ls, 12) + ")"
}

func tensorList(m map[string]int, limit int) string {
	names := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b))
	})
	var parts []string
	for i, n := range names {
		if i == limit {
			parts = append(parts, fmt.Sprintf("+%d more", len(names)-limit))
			break
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", n, m[n]))
	}
	return strings.Join(parts, ", ")
}
