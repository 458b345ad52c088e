package outliers

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Positions are entries of an encoder: per layer, indices into the layer's
// flat buffer (model.Model.Layer), ascending and distinct.
type Positions struct {
	NumLayers int     `json:"num_layers"`
	LayerSize int     `json:"layer_size"`
	Layers    [][]int `json:"layers"`
}

// Count is the number of positions.
func (p Positions) Count() int {
	n := 0
	for _, l := range p.Layers {
		n += len(l)
	}
	return n
}

// Validate checks that every index lies in its layer, and sorts and
// deduplicates the indices.
func (p *Positions) Validate() error {
	if p.NumLayers <= 0 || p.LayerSize <= 0 {
		return fmt.Errorf("%d layers of %d parameters", p.NumLayers, p.LayerSize)
	}
	if len(p.Layers) > p.NumLayers {
		return fmt.Errorf("positions for %d layers, but the encoder has %d", len(p.Layers), p.NumLayers)
	}
	for len(p.Layers) < p.NumLayers {
		p.Layers = append(p.Layers, nil)
	}
	for l, idx := range p.Layers {
		slices.Sort(idx)
		idx = slices.Compact(idx)
		for _, i := range idx {
			if i < 0 || i >= p.LayerSize {
				return fmt.Errorf("layer %d: position %d outside the layer's %d parameters", l, i, p.LayerSize)
			}
		}
		p.Layers[l] = idx
	}
	return nil
}

// RandomPositions draws n distinct positions uniformly from the encoder's
// numLayers × layerSize parameters: the paper's control for disabling the
// outliers (Table 3), the same number of positions chosen at random. The
// same seed gives the same positions.
func RandomPositions(n, numLayers, layerSize int, seed uint64) (Positions, error) {
	total := numLayers * layerSize
	if numLayers <= 0 || layerSize <= 0 {
		return Positions{}, fmt.Errorf("outliers: %d layers of %d parameters", numLayers, layerSize)
	}
	if n < 0 || n > total {
		return Positions{}, fmt.Errorf("outliers: %d random positions out of %d parameters", n, total)
	}
	p := Positions{NumLayers: numLayers, LayerSize: layerSize, Layers: make([][]int, numLayers)}
	for _, g := range RandomIndices(n, total, seed) {
		p.Layers[g/layerSize] = append(p.Layers[g/layerSize], g%layerSize)
	}
	return p, nil
}

// RandomIndices draws n distinct integers from [0, total), ascending, by
// Floyd's algorithm: n draws and O(n) memory whatever total is. It panics
// unless 0 ≤ n ≤ total.
func RandomIndices(n, total int, seed uint64) []int {
	if n < 0 || n > total {
		panic(fmt.Sprintf("outliers: %d distinct integers out of %d", n, total))
	}
	rng := rand.New(rand.NewPCG(seed, 0x6f75746c69657273)) // "outliers"
	chosen := make(map[int]struct{}, n)
	out := make([]int, 0, n)
	for j := total - n; j < total; j++ {
		t := rng.IntN(j + 1)
		if _, ok := chosen[t]; ok {
			t = j
		}
		chosen[t] = struct{}{}
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
