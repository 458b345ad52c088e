package outliers

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mathext"
)

// DefaultSigma is the paper's threshold: 3 standard deviations.
const DefaultSigma = 3

// Alpha is the family-wise level (per layer, Bonferroni over the H hidden
// dimensions) at which a hidden dimension is said to concentrate a layer's
// outliers.
const Alpha = 0.01

// Outlier is one flagged entry of a layer's update.
type Outlier struct {
	Layer  int     `json:"layer"`
	Index  int     `json:"index"`  // in the layer buffer
	Tensor string  `json:"tensor"` // relative to the layer
	Row    int     `json:"row"`    // for a vector, the index
	Col    int     `json:"col"`    // −1 for a vector
	Hidden int     `json:"hidden"` // hidden dimension, −1 if none
	Value  float32 `json:"value"`  // Δ
	Z      float64 `json:"z"`      // (Δ − mean)/std
}

// LayerStats describes one layer's update and its outliers.
type LayerStats struct {
	Layer int     `json:"layer"`
	Mean  float64 `json:"mean"`
	Std   float64 `json:"std"` // population standard deviation of the D entries
	Count int     `json:"count"`
	// MaxAbsZ is the largest |Δ − mean|/std of the layer.
	MaxAbsZ float64 `json:"max_abs_z"`
	// Indices are the outliers' positions in the layer buffer, ascending:
	// what `subtune finetune --disable_dims outliers:FILE` zeroes.
	Indices []int `json:"indices"`
	// Peak[h] is the largest |Δ − mean|/std over the entries whose hidden
	// dimension is h (the figure's curve).
	Peak []float64 `json:"peak"`
	// PerHidden[h] counts the outliers whose hidden dimension is h.
	PerHidden []int `json:"per_hidden"`
	// Expected is the number of outliers a hidden dimension gets by
	// chance: the layer's rate of outliers among entries that have a hidden
	// dimension, times the entries per dimension.
	Expected float64 `json:"expected"`
	// MinSignificant is the smallest count of outliers on one hidden
	// dimension that chance explains with probability below Alpha/H
	// (Poisson tail): dimensions with at least that many concentrate the
	// layer's outliers.
	MinSignificant int `json:"min_significant"`
	// Dims are those dimensions, ascending.
	Dims []int `json:"dims"`
}

// TensorCount is one row of the paper's Table 4: the outliers of one
// parameter tensor, per layer.
type TensorCount struct {
	Tensor   string `json:"tensor"` // relative to the layer
	Size     int    `json:"size"`   // entries per layer
	PerLayer []int  `json:"per_layer"`
	Total    int    `json:"total"`
}

// DimCount says how one hidden dimension carries outliers across layers.
type DimCount struct {
	Hidden int `json:"hidden"`
	// Layers are the layers with at least one outlier on this dimension.
	Layers []int `json:"layers"`
	// Significant are the layers in which the dimension concentrates
	// outliers beyond chance (LayerStats.Dims).
	Significant []int `json:"significant"`
	// Entries counts its outliers over all layers, and Expected the number
	// chance would put there.
	Entries  int     `json:"entries"`
	Expected float64 `json:"expected"`
	// Tensors counts its outliers per tensor name (over all layers).
	Tensors map[string]int `json:"tensors"`
}

// Result is the outlier analysis of an encoder's learned update.
type Result struct {
	Sigma      float64 `json:"sigma"`
	NumLayers  int     `json:"num_layers"`
	LayerSize  int     `json:"layer_size"`
	HiddenSize int     `json:"hidden_size"`
	Total      int     `json:"total"` // encoder parameters: NumLayers × LayerSize
	Count      int     `json:"count"`
	Fraction   float64 `json:"fraction"` // Count / Total
	// NormalFraction is the fraction a normal distribution puts beyond
	// Sigma standard deviations (0.27% at 3σ): what the threshold flags
	// with no structure at all.
	NormalFraction float64       `json:"normal_fraction"`
	Layers         []LayerStats  `json:"layers"`
	Tensors        []TensorCount `json:"tensors"` // every tensor of the layout, in buffer order
	// Dims lists every hidden dimension with at least one outlier: first
	// those significant in the most layers, then by entries, then index.
	Dims []DimCount `json:"dims"`
	// Outliers lists every flagged entry, layer by layer, in buffer order.
	Outliers []Outlier `json:"-"`
}

// Outliers flags, in each layer's update deltas[l] (one flat vector in the
// layer buffer's order, layout.LayerSize() long), the entries at least sigma
// standard deviations from the layer's mean, |Δ − mean| ≥ sigma·std (the
// paper, Sec. 4.5: sigma = 3), and says where they sit: per tensor and
// layer (Table 4), and per hidden dimension across layers.
//
// Mean and standard deviation are those of the layer's D entries (the
// population standard deviation), in float64. A layer whose entries are all
// equal has no outliers.
func Outliers(deltas [][]float32, layout Layout, sigma float64) (*Result, error) {
	if err := checkDeltas(deltas, layout, sigma); err != nil {
		return nil, err
	}
	L, D, H := len(deltas), layout.LayerSize(), layout.HiddenSize
	r := &Result{Sigma: sigma, NumLayers: L, LayerSize: D, HiddenSize: H, Total: L * D,
		NormalFraction: math.Erfc(sigma / math.Sqrt2)}
	for _, t := range layout.Tensors {
		r.Tensors = append(r.Tensors, TensorCount{Tensor: t.Name, Size: t.Size, PerLayer: make([]int, L)})
	}
	dims := make([]dimAcc, H)
	for l, d := range deltas {
		st := r.scanLayer(l, d, layout, dims)
		st.testDims(layout, dims)
		r.Count += st.Count
		r.Layers = append(r.Layers, st)
	}
	r.Fraction = float64(r.Count) / float64(r.Total)
	r.rankDims(dims)
	return r, nil
}

// checkDeltas refuses a sigma that is no positive number and an update
// that does not fit the layout or is not finite.
func checkDeltas(deltas [][]float32, layout Layout, sigma float64) error {
	if !(sigma > 0) || math.IsInf(sigma, 0) {
		return fmt.Errorf("outliers: sigma %v: want a positive number", sigma)
	}
	if len(deltas) == 0 {
		return fmt.Errorf("outliers: no layers")
	}
	D := layout.LayerSize()
	for l, d := range deltas {
		if len(d) != D {
			return fmt.Errorf("outliers: layer %d has %d entries, the layout %d", l, len(d), D)
		}
		for i, v := range d {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("outliers: layer %d, entry %d of the update is %v", l, i, v)
			}
		}
	}
	return nil
}

// dimAcc gathers one hidden dimension's outliers across layers.
type dimAcc struct {
	layers, sig []int
	entries     int
	expected    float64
	tensors     map[string]int
}

// scanLayer flags the entries of layer l at least r.Sigma standard
// deviations from its mean, counting them per tensor in r and per hidden
// dimension in st and dims.
func (r *Result) scanLayer(l int, d []float32, layout Layout, dims []dimAcc) LayerStats {
	D, H := len(d), layout.HiddenSize
	var sum float64
	for _, v := range d {
		sum += float64(v)
	}
	mean := sum / float64(D)
	var ss float64
	for _, v := range d {
		x := float64(v) - mean
		ss += x * x
	}
	std := math.Sqrt(ss / float64(D))
	st := LayerStats{Layer: l, Mean: mean, Std: std, Peak: make([]float64, H), PerHidden: make([]int, H)}
	if std == 0 {
		return st
	}
	thr := r.Sigma * std
	for k, t := range layout.Tensors {
		seg := d[t.Offset : t.Offset+t.Size]
		for j, v := range seg {
			dev := math.Abs(float64(v) - mean)
			z := dev / std
			st.MaxAbsZ = max(st.MaxAbsZ, z)
			if h := layout.hiddenOf(k, j); h >= 0 {
				st.Peak[h] = max(st.Peak[h], z)
			}
			if dev < thr {
				continue
			}
			i := t.Offset + j
			loc := layout.Locate(i)
			st.Count++
			st.Indices = append(st.Indices, i)
			r.Tensors[k].PerLayer[l]++
			r.Tensors[k].Total++
			r.Outliers = append(r.Outliers, Outlier{Layer: l, Index: i, Tensor: t.Name, Row: loc.Row, Col: loc.Col,
				Hidden: loc.Hidden, Value: v, Z: (float64(v) - mean) / std})
			if loc.Hidden >= 0 {
				st.PerHidden[loc.Hidden]++
				dims[loc.Hidden].add(l, t.Name)
			}
		}
	}
	return st
}

func (a *dimAcc) add(layer int, tensor string) {
	if len(a.layers) == 0 || a.layers[len(a.layers)-1] != layer {
		a.layers = append(a.layers, layer)
	}
	a.entries++
	if a.tensors == nil {
		a.tensors = map[string]int{}
	}
	a.tensors[tensor]++
}

// testDims says which dimensions hold more of the layer's outliers than
// chance: more than a Poisson count at the layer's rate, at level Alpha/H.
func (st *LayerStats) testDims(layout Layout, dims []dimAcc) {
	H := layout.HiddenSize
	withHidden := 0 // entries of a layer that have a hidden dimension
	for _, n := range layout.perHidden {
		withHidden += n
	}
	hidden := 0
	for _, c := range st.PerHidden {
		hidden += c
	}
	rate := float64(hidden) / float64(max(withHidden, 1))
	perDim := float64(withHidden) / float64(H)
	st.Expected = rate * perDim
	st.MinSignificant = minSignificant(st.Expected, Alpha/float64(H))
	for h, c := range st.PerHidden {
		dims[h].expected += rate * float64(layout.perHidden[h])
		if c > 0 && c >= st.MinSignificant {
			st.Dims = append(st.Dims, h)
			dims[h].sig = append(dims[h].sig, st.Layer)
		}
	}
}

// rankDims lists the dimensions with outliers, those significant in the
// most layers first, then by count.
func (r *Result) rankDims(dims []dimAcc) {
	for h, a := range dims {
		if a.entries == 0 {
			continue
		}
		r.Dims = append(r.Dims, DimCount{Hidden: h, Layers: a.layers, Significant: a.sig, Entries: a.entries,
			Expected: a.expected, Tensors: a.tensors})
	}
	sort.SliceStable(r.Dims, func(i, j int) bool {
		a, b := r.Dims[i], r.Dims[j]
		if len(a.Significant) != len(b.Significant) {
			return len(a.Significant) > len(b.Significant)
		}
		if a.Entries != b.Entries {
			return a.Entries > b.Entries
		}
		return a.Hidden < b.Hidden
	})
}

// minSignificant is the smallest count c ≥ 1 with P(X ≥ c) < p for X
// Poisson with mean lambda.
func minSignificant(lambda, p float64) int {
	if lambda <= 0 {
		return 1
	}
	for c := 1; ; c++ {
		// P(X ≥ c) is the regularised lower incomplete gamma P(c, λ).
		if mathext.GammaIncReg(float64(c), lambda) < p {
			return c
		}
	}
}

// Recurring returns the hidden dimensions that concentrate outliers in at
// least minLayers layers, most layers first (the paper's "O1" would top
// the list, significant in almost every layer).
func (r *Result) Recurring(minLayers int) []DimCount {
	var out []DimCount
	for _, d := range r.Dims {
		if len(d.Significant) >= max(minLayers, 1) {
			out = append(out, d)
		}
	}
	return out
}

// Positions returns the outliers' positions, per layer.
func (r *Result) Positions() Positions {
	p := Positions{NumLayers: r.NumLayers, LayerSize: r.LayerSize, Layers: make([][]int, r.NumLayers)}
	for l, st := range r.Layers {
		p.Layers[l] = slices.Clone(st.Indices)
	}
	return p
}
