package subspace

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/subtune/subtune/safetensors"
)

// TestExtractRecoversPlantedSubspace: deltas of known rank k and singular
// values come back as exactly k directions spanning the planted row space
// (principal angles ≈ 0) with those singular values, per layer and for the
// whole encoder.
func TestExtractRecoversPlantedSubspace(t *testing.T) {
	sigma := []float64{5, 2, 0.5}
	tr, qs := planted(2, 400, 8, sigma, 1)
	for _, tc := range []struct {
		scope string
		dtype safetensors.DType
		tol   float64 // on σ (relative) and on 1 − cos of the principal angles
	}{
		{ScopeLayer, safetensors.F32, 1e-5},
		{ScopeLayer, safetensors.BF16, 1e-2},
		{ScopeGlobal, safetensors.F32, 1e-5},
	} {
		t.Run(tc.scope+"/"+string(tc.dtype), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "basis.safetensors")
			st, err := Extract(tr.all(), path, ExtractOptions{Scope: tc.scope, DType: tc.dtype})
			if err != nil {
				t.Fatal(err)
			}
			b, err := LoadBasis(path, Expect{NumLayers: 2, LayerSize: 400, Theta0Hash: tr.Theta0Hash()})
			if err != nil {
				t.Fatal(err)
			}
			if tc.scope == ScopeLayer {
				for l := 0; l < 2; l++ {
					sp := st.Spectra[l]
					if sp.Rank != 3 || sp.Kept != 3 || b.blocks[l].dim != 3 {
						t.Fatalf("layer %d: rank %d, kept %d, loaded dim %d; want 3", l, sp.Rank, sp.Kept, b.blocks[l].dim)
					}
					for i, want := range sigma {
						if got := b.blocks[l].sigma[i]; math.Abs(got-want) > 1e-5*want {
							t.Errorf("layer %d: σ%d = %v, want %v", l, i, got, want)
						}
					}
					for _, c := range cosines(t, rowsOf(b, l), qs[l]) {
						if 1-c > tc.tol {
							t.Errorf("layer %d: principal angle cosine %v", l, c)
						}
					}
				}
				return
			}
			// Global: the encoder's deltas are the layers' side by side, so
			// σ² are the sums over layers where the planted U differ; just
			// check rank, and that each direction's layer slices lie in
			// the planted spaces.
			if len(b.blocks) != 1 || b.blocks[0].dim != 3*2 {
				t.Fatalf("global: %d blocks of dim %d, want 1 of 6 (3 per layer, independent)", len(b.blocks), b.blocks[0].dim)
			}
			v := rowsOf(b, 0)
			for l := 0; l < 2; l++ {
				sl := v.Slice(0, 6, l*400, (l+1)*400)
				// Every row slice must be in span(Q_l): its projection
				// keeps its length.
				for i := 0; i < 6; i++ {
					var n2, p2 float64
					for j := 0; j < 400; j++ {
						n2 += sl.At(i, j) * sl.At(i, j)
					}
					for r := 0; r < 3; r++ {
						var d float64
						for j := 0; j < 400; j++ {
							d += sl.At(i, j) * qs[l].At(r, j)
						}
						p2 += d * d
					}
					if math.Abs(p2-n2) > tc.tol*(1+n2) {
						t.Errorf("layer %d slice of direction %d leaves the planted space: ‖proj‖² %v vs ‖v‖² %v", l, i, p2, n2)
					}
				}
			}
		})
	}
}

// TestRowsTheory: the three row choices against an explicit float64 SVD of
// the matrix they stack, and the ranks theory predicts: t points in general
// position have rank t as deltas or raw rows and t − 1 centred; points on a
// straight line through θ0 have rank 1 as deltas and centred, 2 raw.
func TestRowsTheory(t *testing.T) {
	const L, D, T = 1, 300, 6
	rng := rand.New(rand.NewPCG(7, 7))
	theta0 := [][]float32{make([]float32, D)}
	for j := range theta0[0] {
		theta0[0][j] = float32(0.05 * rng.NormFloat64())
	}
	generic := make([][][]float32, T)
	line := make([][][]float32, T)
	dir := make([]float32, D)
	for j := range dir {
		dir[j] = float32(0.01 * rng.NormFloat64())
	}
	for k := 0; k < T; k++ {
		generic[k] = [][]float32{make([]float32, D)}
		line[k] = [][]float32{make([]float32, D)}
		for j := 0; j < D; j++ {
			generic[k][0][j] = float32(0.01*rng.NormFloat64() + 0.002*float64(k))
			line[k][0][j] = float32(k+1) * dir[j]
		}
	}
	for _, tc := range []struct {
		name     string
		delta    [][][]float32
		rows     string
		wantRank int
	}{
		{"generic/delta", generic, RowsDelta, T},
		{"generic/raw", generic, RowsRaw, T},
		{"generic/centered", generic, RowsCentered, T - 1},
		{"line/delta", line, RowsDelta, 1},
		{"line/raw", line, RowsRaw, 2},
		{"line/centered", line, RowsCentered, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newMemTrajectory(theta0, tc.delta, nil)
			path := filepath.Join(t.TempDir(), "b.safetensors")
			st, err := Extract(tr.all(), path, ExtractOptions{Rows: tc.rows})
			if err != nil {
				t.Fatal(err)
			}
			sp := st.Spectra[0]
			if sp.Rank != tc.wantRank {
				t.Fatalf("rank %d, want %d (σ %v)", sp.Rank, tc.wantRank, sp.Sigma)
			}
			refS, refV := refSVD(t, tr.rows(tc.rows, 0, 0, D))
			for i := 0; i < sp.Rank; i++ {
				if math.Abs(sp.Sigma[i]-refS[i]) > 1e-5*refS[0] {
					t.Errorf("σ%d = %v, reference %v", i, sp.Sigma[i], refS[i])
				}
			}
			b, err := LoadBasis(path, Expect{})
			if err != nil {
				t.Fatal(err)
			}
			v := rowsOf(b, 0)
			if r, _ := v.Dims(); r != sp.Rank {
				t.Fatalf("file keeps %d directions, rank is %d", r, sp.Rank)
			}
			for _, c := range cosines(t, v, mat.DenseCopyOf(refV.Slice(0, sp.Rank, 0, D))) {
				if 1-c > 1e-5 {
					t.Errorf("principal angle cosine %v against the reference span", c)
				}
			}
			checkOrthonormal(t, v, 1e-5)
		})
	}
}

// checkOrthonormal fails unless the rows of v are orthonormal to tol.
func checkOrthonormal(t *testing.T, v *mat.Dense, tol float64) {
	t.Helper()
	var g mat.Dense
	g.Mul(v, v.T())
	r, _ := g.Dims()
	for i := 0; i < r; i++ {
		for j := 0; j < r; j++ {
			want := 0.0
			if i == j {
				want = 1
			}
			if d := math.Abs(g.At(i, j) - want); d > tol {
				t.Fatalf("VVᵀ[%d,%d] = %v, want %v", i, j, g.At(i, j), want)
			}
		}
	}
}

// TestSmallSingularValues: singular values spanning up to four decades,
// as many independent directions as checkpoints, and raw rows whose
// fine-tuning part is a thousandth of θ0, are recovered from the float32
// data as an explicit float64 SVD finds them: every direction kept, σ to
// float32 precision, V's rows orthonormal to 1e-6 and each one the
// reference direction.
func TestSmallSingularValues(t *testing.T) {
	const D, T = 2000, 8
	for _, tc := range []struct {
		name  string
		rows  string
		sigma []float64
	}{
		{"delta/3-decades", RowsDelta, []float64{1, 1e-1, 1e-2, 1e-3}},
		{"delta/4-decades", RowsDelta, []float64{1, 1e-1, 1e-2, 1e-3, 1e-4}},
		{"delta/full-rank", RowsDelta, []float64{1, 0.5, 0.2, 1e-1, 3e-2, 1e-2, 3e-3, 1e-3}},
		{"raw/tiny-deltas", RowsRaw, []float64{1e-2, 3e-3, 1e-3}},
		{"raw/4-decades", RowsRaw, []float64{1e-2, 1e-3, 1e-4, 1e-5}},
		{"centered/3-decades", RowsCentered, []float64{1, 1e-1, 1e-2, 1e-3}},
		{"centered/4-decades", RowsCentered, []float64{1, 1e-1, 1e-2, 1e-3, 1e-4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, _ := planted(1, D, T, tc.sigma, 11)
			path := filepath.Join(t.TempDir(), "b.safetensors")
			st, err := Extract(tr.all(), path, ExtractOptions{Rows: tc.rows})
			if err != nil {
				t.Fatal(err)
			}
			sp := st.Spectra[0]
			refS, refV := refSVD(t, tr.rows(tc.rows, 0, 0, D))
			wantRank := len(tc.sigma)
			if tc.rows == RowsRaw {
				wantRank++ // θ0's own direction
			}
			if tc.rows == RowsCentered {
				// Centring removes the component along the mean; the planted
				// U is random, so the rank stays len(sigma) unless it is t.
				wantRank = min(wantRank, T-1)
			}
			if sp.Rank != wantRank {
				t.Fatalf("rank %d, want %d; σ %v, reference %v", sp.Rank, wantRank, sp.Sigma, refS)
			}
			b, err := LoadBasis(path, Expect{})
			if err != nil {
				t.Fatal(err)
			}
			v := rowsOf(b, 0)
			checkOrthonormal(t, v, 1e-6)
			for i := 0; i < sp.Rank; i++ {
				// σ is stored in float32. The float64 sums leave an error of
				// about √D·2⁻⁵³·σ1² in σi²: nothing for delta and centred
				// rows, but raw rows' σ1 is θ0's, three decades above.
				floor := 2 * math.Sqrt(D) * 0x1p-53 * (refS[0] / refS[i]) * (refS[0] / refS[i])
				if rel := math.Abs(sp.Sigma[i]-refS[i]) / refS[i]; rel > 1e-6+floor {
					t.Errorf("σ%d = %.9g, reference %.9g (relative error %.2g)", i, sp.Sigma[i], refS[i], rel)
				}
				var c, n2 float64
				for j := 0; j < D; j++ {
					c += v.At(i, j) * refV.At(i, j)
					n2 += v.At(i, j) * v.At(i, j)
				}
				if c /= math.Sqrt(n2); 1-math.Abs(c) > 1e-6+floor {
					t.Errorf("direction %d: cosine %v with the reference", i, c)
				}
			}
		})
	}
}

// TestDimKeepsLeading: --dim keeps the leading directions, and asking for
// more than the rank keeps the rank.
func TestDimKeepsLeading(t *testing.T) {
	tr, _ := planted(2, 300, 6, []float64{4, 3, 2, 1}, 3)
	for _, tc := range []struct{ dim, want int }{{2, 2}, {4, 4}, {10, 4}, {0, 4}} {
		path := filepath.Join(t.TempDir(), "b.safetensors")
		st, err := Extract(tr.all(), path, ExtractOptions{Dim: tc.dim})
		if err != nil {
			t.Fatal(err)
		}
		b, err := LoadBasis(path, Expect{})
		if err != nil {
			t.Fatal(err)
		}
		for l, bl := range b.blocks {
			if bl.dim != tc.want || st.Spectra[l].Kept != tc.want {
				t.Errorf("dim %d: layer %d keeps %d, want %d", tc.dim, l, bl.dim, tc.want)
			}
			if math.Abs(bl.sigma[0]-4) > 1e-5 || math.Abs(bl.sigma[bl.dim-1]-float64(5-bl.dim)) > 1e-5 {
				t.Errorf("dim %d: kept σ %v", tc.dim, bl.sigma)
			}
		}
	}
}

// TestMatrixScope: one subspace per parameter tensor, each the SVD of that
// tensor's columns alone.
func TestMatrixScope(t *testing.T) {
	c := tinyConfig(2)
	lts := c.LayerLayout()
	D := c.LayerSize()
	tr0, _ := planted(2, D, 5, []float64{3, 2, 1, 0.5, 0.25}, 5)
	tr := newMemTrajectory(tr0.theta0, tr0.delta, lts)
	path := filepath.Join(t.TempDir(), "b.safetensors")
	var log strings.Builder
	st, err := Extract(tr.all(), path, ExtractOptions{Scope: ScopeMatrix, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadBasis(path, Expect{NumLayers: 2, LayerSize: D, LayerTensors: lts})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.blocks) != 2*len(lts) || len(st.Spectra) != len(b.blocks) {
		t.Fatalf("%d blocks, want %d", len(b.blocks), 2*len(lts))
	}
	for bi, bl := range b.blocks {
		l, lt := bi/len(lts), lts[bi%len(lts)]
		if want := layerName(l) + "." + lt.Name; bl.name != want {
			t.Fatalf("block %d is %s, want %s", bi, bl.name, want)
		}
		s := b.segs[bl.segs[0]]
		if s.off != l*D+lt.Offset || s.n != lt.Size {
			t.Fatalf("%s covers [%d, +%d), want [%d, +%d)", bl.name, s.off, s.n, l*D+lt.Offset, lt.Size)
		}
		refS, refV := refSVD(t, tr.rows(RowsDelta, l, lt.Offset, lt.Size))
		if bl.dim != min(5, lt.Size) {
			t.Errorf("%s: dim %d", bl.name, bl.dim)
		}
		for i := 0; i < bl.dim; i++ {
			if math.Abs(bl.sigma[i]-refS[i]) > 1e-4*refS[0] {
				t.Errorf("%s: σ%d = %v, reference %v", bl.name, i, bl.sigma[i], refS[i])
			}
		}
		for _, c := range cosines(t, rowsOf(b, bi), mat.DenseCopyOf(refV.Slice(0, bl.dim, 0, lt.Size))) {
			if 1-c > 1e-4 {
				t.Errorf("%s: principal angle cosine %v", bl.name, c)
			}
		}
	}
	if !strings.Contains(log.String(), "layer.1.output.LayerNorm.bias") {
		t.Errorf("log does not list every tensor:\n%s", log.String())
	}
}
