package subspace

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

// randomTrajectory is a memTrajectory with t checkpoints of L layers of D
// random deltas, all starting from the same θ0 (theta0Seed) and moving
// along a path drawn from seed.
func randomTrajectory(name string, L, D, t int, theta0Seed, seed uint64) *memTrajectory {
	theta0 := randomDeltas(rand.New(rand.NewPCG(theta0Seed, 9)), 1, L, D, 0.05)[0]
	delta := randomDeltas(rand.New(rand.NewPCG(seed, 10)), t, L, D, 0.01)
	tr := newMemTrajectory(theta0, delta, nil)
	tr.Name = name
	return tr
}

// subset is the memTrajectory holding only checkpoints idx of tr.
func subset(tr *memTrajectory, idx []int) *memTrajectory {
	var delta [][][]float32
	for _, k := range idx {
		delta = append(delta, tr.delta[k])
	}
	s := newMemTrajectory(tr.theta0, delta, tr.tensors)
	s.Manifest.Stored = tr.Manifest.Stored
	return s
}

// extracted extracts p and loads the result.
func extracted(t *testing.T, p *Points, o ExtractOptions) (*ExtractStats, *Basis, map[string]string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "basis.safetensors")
	st, err := Extract(p, path, o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadBasis(path, Expect{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return st, b, f.Metadata()
}

// sameBasis fails unless a and b have the same spectra and directions (up
// to sign, to tol).
func sameBasis(t *testing.T, a, b *Basis, sa, sb *ExtractStats, tol float64) {
	t.Helper()
	if len(a.blocks) != len(b.blocks) {
		t.Fatalf("%d blocks, want %d", len(a.blocks), len(b.blocks))
	}
	for i := range sa.Spectra {
		if !slices.EqualFunc(sa.Spectra[i].Sigma, sb.Spectra[i].Sigma, func(x, y float64) bool { return math.Abs(x-y) <= tol*sb.Spectra[i].Sigma[0] }) {
			t.Errorf("%s: σ %v, want %v", sa.Spectra[i].Name, sa.Spectra[i].Sigma, sb.Spectra[i].Sigma)
		}
	}
	for bi := range a.blocks {
		va, vb := rowsOf(a, bi), rowsOf(b, bi)
		r, c := va.Dims()
		if rb, cb := vb.Dims(); rb != r || cb != c {
			t.Fatalf("block %d: %d×%d, want %d×%d", bi, r, c, rb, cb)
		}
		for i := 0; i < r; i++ {
			var dot float64
			for j := 0; j < c; j++ {
				dot += va.At(i, j) * vb.At(i, j)
			}
			if 1-math.Abs(dot) > tol {
				t.Errorf("block %d direction %d: cosine %v with the reference", bi, i, dot)
			}
		}
	}
}

func TestEvenlySpaced(t *testing.T) {
	for _, tc := range []struct {
		n, t int
		want []int
	}{
		{32, 4, []int{7, 15, 23, 31}},
		{32, 32, seq(32)},
		{10, 4, []int{2, 4, 7, 9}},
		{25, 8, []int{3, 6, 9, 12, 15, 18, 21, 24}},
		{5, 1, []int{4}},
		{5, 8, seq(5)},
		{3, 3, []int{0, 1, 2}},
		{5, 0, nil},
		{0, 3, nil},
	} {
		got := EvenlySpaced(tc.n, tc.t)
		if !slices.Equal(got, tc.want) {
			t.Errorf("EvenlySpaced(%d, %d) = %v, want %v", tc.n, tc.t, got, tc.want)
		}
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Errorf("EvenlySpaced(%d, %d) = %v: not increasing", tc.n, tc.t, got)
			}
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestSelectIsSubset: extracting a selection gives the basis of
// a trajectory that holds only the selected checkpoints, whatever the rows
// and whether the run stores deltas or θk.
func TestSelectIsSubset(t *testing.T) {
	idx := []int{1, 4, 7}
	for _, rows := range []string{RowsDelta, RowsRaw, RowsCentered} {
		for _, src := range []string{"deltas", "thetas"} {
			t.Run(rows+"/"+src, func(t *testing.T) {
				f := randomTrajectory("full", 2, 300, 8, 1, 2)
				if src == "thetas" {
					f.storeTheta()
				}
				sel, err := Select(f.Run, idx)
				if err != nil {
					t.Fatal(err)
				}
				if sel.Len() != 3 {
					t.Fatalf("%d checkpoints, want 3", sel.Len())
				}
				o := ExtractOptions{Rows: rows}
				st, b, meta := extracted(t, sel, o)
				rst, rb, _ := extracted(t, subset(f, idx).all(), o)
				sameBasis(t, b, rb, st, rst, 1e-6)
				if meta["trajectory_checkpoints"] != "[1,4,7]" || meta["trajectory_length"] != "8" || !strings.Contains(meta[metaTrajectory], "full (checkpoints [1,4,7] of 8)") {
					t.Errorf("metadata %v", meta)
				}
			})
		}
	}
}

func TestSelectRefuses(t *testing.T) {
	tr := randomTrajectory("traj", 1, 10, 4, 1, 2)
	for _, tc := range []struct {
		idx  []int
		want string
	}{
		{nil, "no checkpoints"},
		{[]int{0, 4}, "checkpoint 4 selected, the trajectory has 4"},
		{[]int{-1}, "checkpoint -1"},
		{[]int{2, 2}, "checkpoint 2 selected twice"},
	} {
		if _, err := Select(tr.Run, tc.idx); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "traj") {
			t.Errorf("%v: %v, want an error naming traj with %q", tc.idx, err, tc.want)
		}
	}
}

// TestUnifiedSpansPickedCheckpoints: the unified basis of one checkpoint
// per trajectory has one direction per trajectory in every layer, and they
// span exactly the picked checkpoints' deltas.
func TestUnifiedSpansPickedCheckpoints(t *testing.T) {
	const L, D = 2, 200
	trs := []*memTrajectory{
		randomTrajectory("cola", L, D, 4, 1, 10),
		randomTrajectory("sst2", L, D, 6, 1, 11),
		randomTrajectory("mrpc", L, D, 3, 1, 12),
	}
	trs[1].storeTheta() // a run that stores θk, beside ones that store deltas
	for _, tc := range []struct {
		name string
		pick []int
		want []int // the checkpoint taken from each
	}{
		{"last", nil, []int{3, 5, 2}},
		{"picked", []int{0, -2, 1}, []int{0, 4, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := Unified([]*Run{trs[0].Run, trs[1].Run, trs[2].Run}, tc.pick)
			if err != nil {
				t.Fatal(err)
			}
			st, b, meta := extracted(t, u, ExtractOptions{})
			for l := 0; l < L; l++ {
				if st.Spectra[l].Rank != 3 || b.blocks[l].dim != 3 {
					t.Fatalf("layer %d: rank %d, dim %d; want 3", l, st.Spectra[l].Rank, b.blocks[l].dim)
				}
				// The picked deltas, orthonormalised, against the basis.
				w := mat.NewDense(3, D, nil)
				for i, tr := range trs {
					for j := 0; j < D; j++ {
						w.Set(i, j, float64(tr.delta[tc.want[i]][l][j]))
					}
				}
				_, ref := refSVD(t, w)
				for _, c := range cosines(t, rowsOf(b, l), mat.DenseCopyOf(ref.Slice(0, 3, 0, D))) {
					if 1-c > 1e-5 {
						t.Errorf("layer %d: principal angle cosine %v with the picked deltas", l, c)
					}
				}
			}
			for i, name := range []string{"cola", "sst2", "mrpc"} {
				if !strings.Contains(meta[metaTrajectory], name+"#"+strconv.Itoa(tc.want[i])) {
					t.Errorf("source %q does not name %s#%d", meta[metaTrajectory], name, tc.want[i])
				}
			}
			if !strings.Contains(meta["trajectory_unified"], `"checkpoint":`+strconv.Itoa(tc.want[1])) {
				t.Errorf("trajectory_unified %s", meta["trajectory_unified"])
			}
		})
	}
}

// TestUnifiedRefuses: trajectories from another θ0 or with another layout
// are refused, naming both; so are out-of-range picks.
func TestUnifiedRefuses(t *testing.T) {
	a := randomTrajectory("a-run", 2, 20, 3, 1, 1)
	otherTheta0 := randomTrajectory("b-run", 2, 20, 3, 2, 1)
	otherSize := randomTrajectory("b-run", 2, 30, 3, 1, 1)
	otherLayers := randomTrajectory("b-run", 3, 20, 3, 1, 1)
	otherTensors := randomTrajectory("b-run", 2, 20, 3, 1, 1)
	otherTensors.Manifest.LayerTensors = model.LayerLayout{{Name: "w", Shape: []int{4, 5}, Size: 20}}
	for _, tc := range []struct {
		name string
		trs  []*Run
		pick []int
		want string
	}{
		{"theta0", []*Run{a.Run, otherTheta0.Run}, nil, "different θ0"},
		{"layer size", []*Run{a.Run, otherSize.Run}, nil, "2 layers of 20 numbers, b-run 2 of 30"},
		{"layers", []*Run{a.Run, otherLayers.Run}, nil, "2 layers of 20 numbers, b-run 3 of 20"},
		{"tensors", []*Run{a.Run, otherTensors.Run}, nil, "different tensors"},
		{"pick range", []*Run{a.Run, a.Run}, []int{0, 3}, "checkpoint 3 picked"},
		{"pick count", []*Run{a.Run, a.Run}, []int{0}, "1 checkpoints picked from 2"},
		{"none", nil, nil, "no trajectories"},
	} {
		_, err := Unified(tc.trs, tc.pick)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
			continue
		}
		if tc.pick == nil && tc.trs != nil && !(strings.Contains(err.Error(), "a-run") && strings.Contains(err.Error(), "b-run")) {
			t.Errorf("%s: %v does not name both sources", tc.name, err)
		}
	}
}

// TestPointsOfTrajectoryDirs: selections and unified points of trajectory
// directories (read by several goroutines, each with its own files open)
// give what the same numbers give in memory, including unified points over
// a float32 and a bfloat16 trajectory (which stores deltas).
func TestPointsOfTrajectoryDirs(t *testing.T) {
	d1, d2 := filepath.Join(t.TempDir(), "t1"), filepath.Join(t.TempDir(), "t2")
	m1 := recordTrajectorySeeded(t, d1, safetensors.F32, 5, 21)
	m2 := recordTrajectorySeeded(t, d2, safetensors.BF16, 4, 22)
	t1, err := OpenRun(d1)
	if err != nil {
		t.Fatal(err)
	}
	defer t1.Close()
	t2, err := OpenRun(d2)
	if err != nil {
		t.Fatal(err)
	}
	defer t2.Close()

	sel, err := Select(t1, []int{0, 2, 4})
	if err != nil {
		t.Fatal(err)
	}
	st, b, meta := extracted(t, sel, ExtractOptions{})
	rst, rb, _ := extracted(t, subset(m1, []int{0, 2, 4}).all(), ExtractOptions{})
	sameBasis(t, b, rb, st, rst, 1e-6)
	if meta["trajectory_steps"] != "[10,30,50]" || meta["trajectory_task"] != "test" {
		t.Errorf("metadata %v", meta)
	}

	u, err := Unified([]*Run{t1, t2, t1}, []int{-1, -1, 1})
	if err != nil {
		t.Fatal(err)
	}
	if !u.storesDeltas() {
		t.Error("unified points with a bfloat16 run do not read deltas")
	}
	st, b, meta = extracted(t, u, ExtractOptions{})
	ref := newMemTrajectory(m1.theta0, [][][]float32{m1.delta[4], m2.delta[3], m1.delta[1]}, m1.tensors)
	rst, rb, _ = extracted(t, ref.all(), ExtractOptions{})
	sameBasis(t, b, rb, st, rst, 1e-6)
	if !strings.Contains(meta["trajectory_unified"], `"step":40`) || meta["trajectory_task"] != "test,test,test" {
		t.Errorf("metadata %v", meta)
	}
}
