package outliers

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/model"
)

// smallConfig is a BERT layer with H = 32, I = 64: 8,544 parameters. The
// layout tests spell out offsets in these sizes (H ≠ I and H ≠ 2·heads),
// so it is kept apart from testmodel.Tiny.
func smallConfig(layers int) model.Config {
	c := model.DefaultConfig("bert")
	c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize, c.NumHiddenLayers = 32, 2, 64, layers
	return c
}

// gaussianDeltas draws every layer's update from N(0, 1).
func gaussianDeltas(layers, size int, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := make([][]float32, layers)
	for l := range d {
		d[l] = make([]float32, size)
		for i := range d[l] {
			d[l][i] = float32(rng.NormFloat64())
		}
	}
	return d
}

// bruteForce counts |x − mean| ≥ sigma·std per layer independently of
// Outliers.
func bruteForce(deltas [][]float32, sigma float64) (total int, flagged map[[2]int]bool) {
	flagged = map[[2]int]bool{}
	for l, d := range deltas {
		var m, s float64
		for _, v := range d {
			m += float64(v)
		}
		m /= float64(len(d))
		for _, v := range d {
			s += (float64(v) - m) * (float64(v) - m)
		}
		s = math.Sqrt(s / float64(len(d)))
		for i, v := range d {
			if math.Abs(float64(v)-m) >= sigma*s {
				flagged[[2]int{l, i}] = true
				total++
			}
		}
	}
	return total, flagged
}

func TestLayoutBERTBase(t *testing.T) {
	c := model.DefaultConfig("bert") // BERT-base: H = 768, I = 3072
	lay := LayoutFor(c)
	if lay.LayerSize() != 7087872 || lay.LayerSize() != c.LayerSize() {
		t.Fatalf("layer size %d, want 7,087,872", lay.LayerSize())
	}
	for h, n := range lay.perHidden {
		if n != 4*768+2*3072+9 {
			t.Fatalf("hidden index %d owns %d entries, want 4H+2I+9 = 9225", h, n)
		}
	}
	want := map[string]int{
		"attention.self.query.weight": 1, "attention.self.query.bias": 0, "attention.output.dense.weight": 0,
		"attention.output.LayerNorm.weight": 0, "intermediate.dense.weight": 1, "intermediate.dense.bias": -1,
		"output.dense.weight": 0, "output.LayerNorm.bias": 0,
	}
	for name, axis := range want {
		k := lay.Tensors.Index(name)
		if k < 0 || lay.HiddenAxis[k] != axis {
			t.Errorf("%s: hidden axis %v, want %d", name, lay.Tensors, axis)
		}
	}
}

func TestLocate(t *testing.T) {
	c := smallConfig(1)
	lay := LayoutFor(c)
	H, I := 32, 64
	at := func(name string, j int) int { return lay.Tensors[lay.Tensors.Index(name)].Offset + j }
	for _, tc := range []struct {
		i                int
		tensor           string
		row, col, hidden int
	}{
		{0, "attention.self.query.weight", 0, 0, 0},
		{at("attention.self.key.weight", 3*H+5), "attention.self.key.weight", 3, 5, 5},                    // reads: column
		{at("attention.output.dense.weight", 7*H+2), "attention.output.dense.weight", 7, 2, 7},            // writes: row
		{at("intermediate.dense.weight", 40*H+9), "intermediate.dense.weight", 40, 9, 9},                  // I×H: column
		{at("intermediate.dense.bias", 50), "intermediate.dense.bias", 50, -1, -1},                        // I-vector: none
		{at("output.dense.weight", 11*I+63), "output.dense.weight", 11, 63, 11},                           // H×I: row
		{at("output.LayerNorm.bias", 31), "output.LayerNorm.bias", 31, -1, 31},                            // H-vector
		{lay.LayerSize() - 1, "output.LayerNorm.bias", H - 1, -1, H - 1},                                  // last entry
		{at("attention.output.LayerNorm.weight", 0), "attention.output.LayerNorm.weight", 0, -1, 0},       // first of a tensor
		{at("attention.output.LayerNorm.weight", 0) - 1, "attention.output.dense.bias", H - 1, -1, H - 1}, // last of the previous
	} {
		loc := lay.Locate(tc.i)
		got := lay.Tensors[loc.Tensor].Name
		if got != tc.tensor || loc.Row != tc.row || loc.Col != tc.col || loc.Hidden != tc.hidden {
			t.Errorf("Locate(%d) = %s [%d, %d] hidden %d; want %s [%d, %d] hidden %d",
				tc.i, got, loc.Row, loc.Col, loc.Hidden, tc.tensor, tc.row, tc.col, tc.hidden)
		}
	}
}

// TestPlantedOutlierDimension plants, in every layer, large updates on
// hidden dimension 7 (both LayerNorm weights, the output bias and row 7 of
// output.dense) over a Gaussian bulk: the analysis must flag them, map them
// to the right tensors and index, and rank dimension 7 first, beyond
// chance in every layer, while no other dimension is.
func TestPlantedOutlierDimension(t *testing.T) {
	const L, planted = 6, 7
	c := smallConfig(L)
	lay := LayoutFor(c)
	H, I := c.HiddenSize, c.IntermediateSize
	deltas := gaussianDeltas(L, lay.LayerSize(), 3)
	off := func(name string) int { return lay.Tensors[lay.Tensors.Index(name)].Offset }
	var plantedAt []int
	for _, name := range []string{"attention.output.LayerNorm.weight", "output.LayerNorm.weight", "output.dense.bias"} {
		plantedAt = append(plantedAt, off(name)+planted)
	}
	for j := 0; j < I; j++ {
		plantedAt = append(plantedAt, off("output.dense.weight")+planted*I+j)
	}
	for l := range deltas {
		for k, i := range plantedAt {
			deltas[l][i] = float32(12 * (1 - 2*(k%2))) // ±12: far beyond 3σ
		}
	}
	r, err := Outliers(deltas, lay, 3)
	if err != nil {
		t.Fatal(err)
	}
	total, flagged := bruteForce(deltas, 3)
	if r.Count != total || len(r.Outliers) != total {
		t.Fatalf("count %d (%d listed), brute force %d", r.Count, len(r.Outliers), total)
	}
	if r.Total != L*lay.LayerSize() || math.Abs(r.Fraction-float64(total)/float64(L*lay.LayerSize())) > 1e-15 {
		t.Errorf("total %d, fraction %v", r.Total, r.Fraction)
	}
	for _, o := range r.Outliers {
		if !flagged[[2]int{o.Layer, o.Index}] {
			t.Fatalf("flagged %+v, which is within 3σ", o)
		}
	}
	byPos := map[[2]int]Outlier{}
	for _, o := range r.Outliers {
		byPos[[2]int{o.Layer, o.Index}] = o
	}
	for l := 0; l < L; l++ {
		for _, i := range plantedAt {
			o, ok := byPos[[2]int{l, i}]
			if !ok {
				t.Fatalf("planted outlier at layer %d index %d not flagged", l, i)
			}
			if o.Hidden != planted {
				t.Errorf("layer %d index %d (%s [%d, %d]) maps to hidden %d, want %d", l, i, o.Tensor, o.Row, o.Col, o.Hidden, planted)
			}
			if o.Tensor == "output.dense.weight" && (o.Row != planted || o.Col != (i-off("output.dense.weight"))%I) {
				t.Errorf("output.dense.weight entry %d at [%d, %d]", i, o.Row, o.Col)
			}
			if math.Abs(o.Z) < 3 || float64(o.Value) != float64(deltas[l][i]) {
				t.Errorf("planted outlier %+v", o)
			}
		}
	}
	// Table 4: every planted tensor has its entries in every layer.
	for _, tc := range r.Tensors {
		switch tc.Tensor {
		case "attention.output.LayerNorm.weight", "output.LayerNorm.weight", "output.dense.bias":
			for l, n := range tc.PerLayer {
				if n < 1 {
					t.Errorf("%s layer %d: %d outliers", tc.Tensor, l, n)
				}
			}
		case "output.dense.weight":
			for l, n := range tc.PerLayer {
				if n < I {
					t.Errorf("output.dense.weight layer %d: %d outliers, want at least the planted %d", l, n, I)
				}
			}
		}
		sum := 0
		for _, n := range tc.PerLayer {
			sum += n
		}
		if sum != tc.Total {
			t.Errorf("%s: per-layer counts sum to %d, total %d", tc.Tensor, sum, tc.Total)
		}
	}
	if len(r.Dims) == 0 || r.Dims[0].Hidden != planted {
		t.Fatalf("top dimension %+v, want %d", r.Dims[:min(3, len(r.Dims))], planted)
	}
	top := r.Dims[0]
	if len(top.Significant) != L || len(top.Layers) != L {
		t.Errorf("dimension %d beyond chance in layers %v (any outlier in %v), want all %d", planted, top.Significant, top.Layers, L)
	}
	if top.Tensors["output.dense.weight"] < L*I || top.Tensors["output.LayerNorm.weight"] != L {
		t.Errorf("dimension %d's tensors: %v", planted, top.Tensors)
	}
	if rec := r.Recurring(2); len(rec) != 1 || rec[0].Hidden != planted {
		t.Errorf("dimensions beyond chance in ≥ 2 layers: %+v", rec)
	}
	for _, st := range r.Layers {
		if !slices.Equal(st.Dims, []int{planted}) {
			t.Errorf("layer %d: dimensions beyond chance %v, want [%d]", st.Layer, st.Dims, planted)
		}
		if st.PerHidden[planted] < I+3 || len(st.Peak) != H || st.Peak[planted] < 3 {
			t.Errorf("layer %d: %d outliers on dimension %d, peak %v", st.Layer, st.PerHidden[planted], planted, st.Peak[planted])
		}
	}
	md := r.Markdown(5)
	for _, want := range []string{"output.LayerNorm.weight", "6/6 (0, 1, 2, 3, 4, 5)", "Table 4"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// TestSigma: a single spike among D equal entries lies exactly √(D−1)
// standard deviations from the mean; the threshold is inclusive.
func TestSigma(t *testing.T) {
	lay, err := NewLayout(model.NewLayerLayout([]string{"w", "b"}, [][]int{{2, 3}, {3}}), 3)
	if err != nil {
		t.Fatal(err)
	}
	d := [][]float32{{0, 0, 0, 0, 0, 0, 0, 0, 5}} // D = 9: z = √8 ≈ 2.83
	for _, tc := range []struct {
		sigma float64
		want  int
	}{{2.8, 1}, {math.Sqrt(8) - 1e-9, 1}, {2.9, 0}, {3, 0}} {
		r, err := Outliers(d, lay, tc.sigma)
		if err != nil {
			t.Fatal(err)
		}
		if r.Count != tc.want {
			t.Errorf("sigma %v: %d outliers, want %d", tc.sigma, r.Count, tc.want)
		}
		if tc.want == 1 {
			o := r.Outliers[0]
			if o.Tensor != "b" || o.Row != 2 || o.Col != -1 || o.Hidden != 2 || o.Index != 8 || math.Abs(o.Z-math.Sqrt(8)) > 1e-9 {
				t.Errorf("outlier %+v", o)
			}
			if !slices.Equal(r.Layers[0].Indices, []int{8}) {
				t.Errorf("indices %v", r.Layers[0].Indices)
			}
		}
	}

	// On Gaussian updates the count falls with sigma, and 3σ flags about
	// erfc(3/√2) = 0.27%.
	c := smallConfig(4)
	big := LayoutFor(c)
	g := gaussianDeltas(4, big.LayerSize(), 9)
	prev := math.MaxInt
	for _, s := range []float64{1, 2, 3, 4} {
		r, err := Outliers(g, big, s)
		if err != nil {
			t.Fatal(err)
		}
		if r.Count > prev {
			t.Errorf("sigma %v flags %d, more than at a lower sigma (%d)", s, r.Count, prev)
		}
		prev = r.Count
		if want := math.Erfc(s / math.Sqrt2); math.Abs(r.Fraction-want) > 0.25*want+2e-4 || r.NormalFraction != want {
			t.Errorf("sigma %v: fraction %.4f%%, a normal puts %.4f%% there", s, 100*r.Fraction, 100*want)
		}
		if s == 3 && len(r.Recurring(2)) != 0 {
			t.Errorf("Gaussian noise has dimensions beyond chance in 2 layers: %+v", r.Recurring(2))
		}
	}

	// Constant layers have no outliers; bad arguments are errors.
	r, err := Outliers([][]float32{{1, 1, 1, 1, 1, 1, 1, 1, 1}}, lay, 3)
	if err != nil || r.Count != 0 || r.Layers[0].Std != 0 {
		t.Errorf("constant layer: %v, %+v", err, r)
	}
	for _, s := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := Outliers(d, lay, s); err == nil {
			t.Errorf("sigma %v accepted", s)
		}
	}
	if _, err := Outliers([][]float32{{1, 2}}, lay, 3); err == nil || !strings.Contains(err.Error(), "layer 0 has 2 entries") {
		t.Errorf("short layer: %v", err)
	}
	if _, err := Outliers([][]float32{{0, 0, 0, 0, 0, 0, 0, 0, float32(math.NaN())}}, lay, 3); err == nil {
		t.Error("NaN update accepted")
	}
}

func TestRandomPositions(t *testing.T) {
	a := RandomIndices(500, 10000, 42)
	b := RandomIndices(500, 10000, 42)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave different positions")
	}
	if slices.Equal(a, RandomIndices(500, 10000, 43)) {
		t.Error("different seeds gave the same positions")
	}
	if len(a) != 500 || !slices.IsSorted(a) || len(slices.Compact(slices.Clone(a))) != 500 || a[0] < 0 || a[499] >= 10000 {
		t.Errorf("not 500 distinct sorted positions in range: %v…", a[:10])
	}
	all := RandomIndices(7, 7, 1)
	if !slices.Equal(all, []int{0, 1, 2, 3, 4, 5, 6}) || len(RandomIndices(0, 7, 1)) != 0 {
		t.Errorf("n = total: %v", all)
	}
	// Roughly uniform: each tenth of the range gets about a tenth.
	u := RandomIndices(20000, 1000000, 5)
	var bins [10]int
	for _, x := range u {
		bins[x/100000]++
	}
	for i, n := range bins {
		if n < 1700 || n > 2300 {
			t.Errorf("bin %d holds %d of 20000", i, n)
		}
	}

	p, err := RandomPositions(300, 4, 1000, 42)
	if err != nil {
		t.Fatal(err)
	}
	if p.Count() != 300 || len(p.Layers) != 4 {
		t.Fatalf("%d positions in %d layers", p.Count(), len(p.Layers))
	}
	var flat []int
	for l, idx := range p.Layers {
		for _, i := range idx {
			flat = append(flat, l*1000+i)
		}
	}
	if !slices.Equal(flat, RandomIndices(300, 4000, 42)) {
		t.Error("RandomPositions does not split RandomIndices by layer")
	}
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
	if _, err := RandomPositions(4001, 4, 1000, 1); err == nil {
		t.Error("more positions than parameters accepted")
	}
}

func TestFileRoundTrip(t *testing.T) {
	c := smallConfig(3)
	lay := LayoutFor(c)
	r, err := Outliers(gaussianDeltas(3, lay.LayerSize(), 4), lay, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	rel := 1e-7
	src := Source{Run: "runs/x", Model: "m", Theta0SHA256: "abc", Basis: "b.safetensors", BasisKind: "intrinsic", ReconstructionError: &rel}
	if err := WriteFile(path, r, src); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, dir} {
		f, err := ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if f.Source.Theta0SHA256 != "abc" || *f.Source.ReconstructionError != rel || f.Count != r.Count || f.Path() != path {
			t.Errorf("read back %+v from %s", f.Source, f.Path())
		}
		pos, err := f.Positions()
		if err != nil {
			t.Fatal(err)
		}
		want := r.Positions()
		for l := range want.Layers {
			if !slices.Equal(pos.Layers[l], want.Layers[l]) {
				t.Fatalf("layer %d positions differ", l)
			}
		}
		if len(f.Dims) != len(r.Dims) || len(f.Tensors) != len(r.Tensors) || !slices.Equal(f.Layers[1].Peak, r.Layers[1].Peak) {
			t.Error("the summaries did not survive the round trip")
		}
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"format": "something-else"}`), 0o644)
	if _, err := ReadFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("foreign file: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

func TestPlots(t *testing.T) {
	c := smallConfig(5)
	lay := LayoutFor(c)
	d := gaussianDeltas(5, lay.LayerSize(), 8)
	for l := range d {
		d[l][lay.Tensors[lay.Tensors.Index("output.LayerNorm.weight")].Offset+3] = 40
	}
	r, err := Outliers(d, lay, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p1, err := r.Plot("test", filepath.Join(dir, "outliers.png"))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := r.PlotRecurrence("test", filepath.Join(dir, "dims"), 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"outliers.png", "outliers.svg", "dims.png", "dims.svg"}
	for i, p := range append(p1, p2...) {
		st, err := os.Stat(p)
		if err != nil || st.Size() < 1000 || filepath.Base(p) != want[i] {
			t.Errorf("figure %s: %v", p, err)
		}
	}
}
