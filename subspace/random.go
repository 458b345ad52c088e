package subspace

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/subtune/subtune/nn"
	"github.com/subtune/subtune/safetensors"
)

// NewRandomBasis builds a random layer-wise basis of dim directions per
// layer, the paper's "Random" baseline at the same d:
//
//   - KindDense: Gaussian directions, orthonormalised per layer (the
//     columns of P in the paper's Eq. 1 "form an orthonormal basis for a
//     randomly oriented d-dimensional subspace"). Kept in memory as dtype
//     (F32 or BF16), like an extracted basis; never stored on disk, since
//     the seed regenerates it exactly, whatever the thread count.
//   - KindFastfood: the Fastfood transform of Li et al. (2018), as used by
//     Aghajanyan et al. (2021): O(D) memory, D padded to a power of two.
//   - KindSAID: Fastfood, with one learned scale λ per layer (the
//     Reparam adds λ; the basis is the same as KindFastfood's).
//
// The same seed gives the same basis.
func NewRandomBasis(kind string, numLayers, layerSize, dim int, seed uint64, dtype safetensors.DType) (*Basis, error) {
	if numLayers <= 0 {
		return nil, fmt.Errorf("subspace: %d layers of %d parameters", numLayers, layerSize)
	}
	dims := make([]int, numLayers)
	for l := range dims {
		dims[l] = dim
	}
	return NewRandomBasisDims(kind, layerSize, dims, seed, dtype)
}

// NewRandomBasisDims is NewRandomBasis with dims[l] directions in layer l,
// so that a random baseline has as many coordinates per layer as an
// extracted subspace whose layers kept different d. Layer l's directions
// depend only on the seed, l and the direction's index: with every dims[l]
// equal it is NewRandomBasis's basis, bit for bit.
func NewRandomBasisDims(kind string, layerSize int, dims []int, seed uint64, dtype safetensors.DType) (*Basis, error) {
	numLayers := len(dims)
	if numLayers == 0 || layerSize <= 0 {
		return nil, fmt.Errorf("subspace: %d layers of %d parameters", numLayers, layerSize)
	}
	for l, dim := range dims {
		if dim <= 0 || dim > layerSize {
			return nil, fmt.Errorf("subspace: random basis dimension %d (layer %d): want 1 … %d", dim, l, layerSize)
		}
		if (kind == KindFastfood || kind == KindSAID) && dim > maxFastfoodDim {
			return nil, fmt.Errorf("subspace: Fastfood dimension %d exceeds %d", dim, maxFastfoodDim)
		}
	}
	dimText := dimsText(dims)
	b := &Basis{Kind: kind, Scope: ScopeLayer, NumLayers: numLayers, LayerSize: layerSize, Seed: seed,
		Source: fmt.Sprintf("%s random basis (d=%s, seed %d)", kind, dimText, seed),
		id:     fmt.Sprintf("%s:seed=%d:d=%s:layers=%d:size=%d", kind, seed, dimText, numLayers, layerSize)}
	switch kind {
	case KindDense:
		if dtype == "" {
			dtype = safetensors.F32
		}
		if dtype != safetensors.F32 && dtype != safetensors.BF16 {
			return nil, fmt.Errorf("subspace: dtype %q: want F32 or BF16", dtype)
		}
		b.DType = dtype
	case KindFastfood, KindSAID:
	default:
		return nil, fmt.Errorf("subspace: random basis kind %q: want dense, fastfood or said", kind)
	}
	var scratch []float32
	for l, dim := range dims {
		s := segment{block: l, off: l * layerSize, n: layerSize}
		switch kind {
		case KindDense:
			var rows []float32
			switch {
			case b.DType == safetensors.F32:
				rows = make([]float32, dim*layerSize)
			case len(scratch) < dim*layerSize:
				scratch = make([]float32, dim*layerSize)
				fallthrough
			default:
				rows = scratch[:dim*layerSize]
			}
			gaussianRows(rows, dim, layerSize, seed, l)
			if err := orthonormalize(rows, dim, layerSize, 0, layerSize, 2); err != nil {
				return nil, fmt.Errorf("subspace: dense basis, layer %d: %w", l, err)
			}
			if b.DType == safetensors.F32 {
				s.f32 = rows
			} else {
				s.b16 = make([]uint16, len(rows))
				safetensors.F32ToBF16Slice(s.b16, rows)
			}
		default:
			s.ff = newFastfood(layerSize, dim, rand.New(rand.NewPCG(seed, streamKey(tagFastfood, uint64(l), 0))))
		}
		b.blocks = append(b.blocks, block{name: layerName(l), layer: l, dim: dim, segs: []int{l}})
		b.segs = append(b.segs, s)
	}
	return b, nil
}

// dimsText is d as a basis' id and source name it: one number when every
// layer has the same (the id NewRandomBasis has always given), else the list.
func dimsText(dims []int) string {
	for _, d := range dims {
		if d != dims[0] {
			return strings.Trim(strings.ReplaceAll(fmt.Sprint(dims), " ", ","), "[]")
		}
	}
	return strconv.Itoa(dims[0])
}

// Stream tags, so that no two uses of one seed share random numbers.
const (
	tagDense uint64 = iota + 1
	tagFastfood
	tagInit
)

// streamKey mixes a tag and two indices into a PCG stream selector
// (splitmix64 finaliser).
func streamKey(tag, a, b uint64) uint64 {
	x := tag*0x9e3779b97f4a7c15 ^ a*0xbf58476d1ce4e5b9 ^ b*0x94d049bb133111eb
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// gaussChunk is the run of one row drawn from one random stream: the
// streams, not the threads, decide the numbers, so the basis is the same
// for every thread count.
const gaussChunk = 1 << 16

// gaussianRows fills d rows of n with N(0,1) draws for layer l.
func gaussianRows(rows []float32, d, n int, seed uint64, l int) {
	per := (n + gaussChunk - 1) / gaussChunk
	nn.ParallelFor(d*per, gaussChunk*20, func(lo, hi int) {
		for u := lo; u < hi; u++ {
			i, c := u/per, u%per
			rng := rand.New(rand.NewPCG(seed, streamKey(tagDense, uint64(l), uint64(u))))
			row := rows[i*n+c*gaussChunk : i*n+min((c+1)*gaussChunk, n)]
			for j := range row {
				row[j] = float32(rng.NormFloat64())
			}
		}
	})
}

// orthonormalize makes the d rows of v (columns [lo, hi), stride ld)
// orthonormal in place by CholeskyQR, passes times: R = L⁻¹R with LLᵀ the
// Cholesky factor of RRᵀ, computed in float64. L is lower triangular, so
// row i only loses its components along rows before it: the span of every
// leading set of rows is kept. One pass leaves nearly orthonormal rows
// orthonormal to a few float32 ulps; Gaussian rows need a second pass
// (CholeskyQR2) to remove what the first left.
func orthonormalize(v []float32, d, ld, lo, hi, passes int) error {
	g := make([]float64, d*d)
	m := make([]float64, d*d)
	for pass := 0; pass < passes; pass++ {
		clear(g)
		addGram(g, v, d, ld, lo, hi)
		var ch mat.Cholesky
		if !ch.Factorize(mat.NewSymDense(d, g)) {
			return fmt.Errorf("the %d rows are linearly dependent", d)
		}
		var lo64, li mat.TriDense
		ch.LTo(&lo64)
		if err := li.InverseTri(&lo64); err != nil {
			return err
		}
		// applyCoefficients computes row i = Σk m[k·d+i]·row k.
		for i := 0; i < d; i++ {
			for k := 0; k < d; k++ {
				m[k*d+i] = li.At(i, k)
			}
		}
		applyCoefficients(v, d, ld, m, nil, nil, d, lo, hi)
	}
	return nil
}
