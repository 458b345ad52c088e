package subspace

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

// fuzzFile opens data as a safetensors file, or returns nil: the
// safetensors reader has a fuzz target of its own.
func fuzzFile(name string, data []byte) *safetensors.File {
	f, err := safetensors.OpenReaderAt(name, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil
	}
	return f
}

// FuzzLoadBasis reads arbitrary basis files, seeded with what Extract
// writes for every scope and storage type. Nothing may panic; a rejection
// names the file; an accepted basis has finite directions that lie inside
// the encoder, and expanding and projecting with it gives finite numbers.
func FuzzLoadBasis(f *testing.F) {
	m := tinyModel(f, 2, 4)
	c := m.Config
	tr := newMemTrajectory(modelTheta0(m), randomDeltas(rand.New(rand.NewPCG(4, 4)), 3, 2, c.LayerSize(), 0.02), c.LayerLayout())
	for _, scope := range []string{ScopeLayer, ScopeMatrix, ScopeGlobal} {
		for _, dt := range []safetensors.DType{safetensors.F32, safetensors.BF16} {
			path := filepath.Join(f.TempDir(), "basis.safetensors")
			if _, err := Extract(tr.all(), path, ExtractOptions{Scope: scope, DType: dt}); err != nil {
				f.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data, uint8(0))
			f.Add(data, uint8(1))
		}
	}
	const name = "fuzz.safetensors"
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		sf := fuzzFile(name, data)
		if sf == nil {
			return
		}
		// Against the model, in either storage, or against nothing.
		var want Expect
		switch mode % 3 {
		case 1:
			want = ExpectFor(m, safetensors.F32)
		case 2:
			want = ExpectFor(m, safetensors.BF16)
		}
		b, err := readBasis(name, sf, bytes.NewReader(data), want)
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		checkBasis(t, b)
	})
}

// checkBasis checks an accepted basis's invariants and runs its kernels.
func checkBasis(t *testing.T, b *Basis) {
	t.Helper()
	n := b.NumLayers * b.LayerSize
	if b.NumCoords() <= 0 {
		t.Fatalf("%d coordinates", b.NumCoords())
	}
	x := make([][]float32, len(b.blocks))
	for i, bl := range b.blocks {
		if bl.dim <= 0 || len(bl.sigma) != bl.dim || len(bl.segs) == 0 {
			t.Fatalf("block %s: dim %d, %d singular values, %d segments", bl.name, bl.dim, len(bl.sigma), len(bl.segs))
		}
		x[i] = make([]float32, bl.dim)
		for j := range x[i] {
			x[i][j] = float32(j%3) - 1
		}
	}
	for _, s := range b.segs {
		if s.off < 0 || s.n <= 0 || s.off+s.n > n {
			t.Fatalf("segment [%d, %d) outside the encoder's %d numbers", s.off, s.off+s.n, n)
		}
		if len(s.f32)+len(s.b16) != b.blocks[s.block].dim*s.n {
			t.Fatalf("segment of %d columns holds %d numbers for %d directions", s.n, len(s.f32)+len(s.b16), b.blocks[s.block].dim)
		}
		if i := firstOutOfRange(s.f32, s.b16); i >= 0 {
			t.Fatalf("entry %d of a segment is out of range", i)
		}
	}
	base := make([]float32, n)
	for i := range base {
		base[i] = float32(i % 7)
	}
	dst := make([]float32, n)
	b.Expand(dst, base, x)
	if i := firstNonFinite(dst); i >= 0 {
		t.Fatalf("Expand gave %v at %d", dst[i], i)
	}
	proj := make([][]float32, len(b.blocks))
	for i, bl := range b.blocks {
		proj[i] = make([]float32, bl.dim)
	}
	b.Project(proj, base)
	for _, p := range proj {
		if i := firstNonFinite(p); i >= 0 {
			t.Fatalf("Project gave %v", p[i])
		}
	}
}

// FuzzLoadCoordinates reads arbitrary coordinate files into runs over an
// extracted, a dense and a SAID basis, seeded with what Save writes for
// each. Nothing may panic; a rejection names the file; accepted
// coordinates are finite and exactly the file's values.
func FuzzLoadCoordinates(f *testing.F) {
	m := tinyModel(f, 2, 6)
	c := m.Config
	L, D := c.NumHiddenLayers, c.LayerSize()
	tr := newMemTrajectory(modelTheta0(m), randomDeltas(rand.New(rand.NewPCG(4, 4)), 3, L, D, 0.02), c.LayerLayout())
	path := filepath.Join(f.TempDir(), "basis.safetensors")
	if _, err := Extract(tr.all(), path, ExtractOptions{Scope: ScopeMatrix}); err != nil {
		f.Fatal(err)
	}
	intrinsic, err := LoadBasis(path, ExpectFor(m, ""))
	if err != nil {
		f.Fatal(err)
	}
	dense, _ := NewRandomBasis(KindDense, L, D, 4, 1, "")
	said, _ := NewRandomBasis(KindSAID, L, D, 4, 1, "")
	var runs []*Reparam
	for _, b := range []*Basis{intrinsic, dense, said} {
		r, err := New(m, b, Options{Ensemble: 3, Seed: 1, InitStd: 1})
		if err != nil {
			f.Fatal(err)
		}
		if r.Lambda != nil {
			r.Lambda[0] = 2.5
		}
		path := filepath.Join(f.TempDir(), "z.safetensors")
		if err := r.SaveCoordinates(path); err != nil {
			f.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(len(runs)))
		runs = append(runs, r)
	}
	const name = "fuzz.safetensors"
	f.Fuzz(func(t *testing.T, data []byte, run uint8) {
		sf := fuzzFile(name, data)
		if sf == nil {
			return
		}
		r := runs[int(run)%len(runs)]
		if err := r.load(name, sf); err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if i := firstNonFinite(r.Z); i >= 0 {
			t.Fatalf("coordinate %d is %v", i, r.Z[i])
		}
		for bi, bl := range r.basis.blocks {
			z, err := sf.Float32(bl.name + zSuffix)
			if err != nil || !slices.Equal(z, r.Z[r.zOff[bi]:r.zOff[bi]+r.opts.Ensemble*bl.dim]) {
				t.Fatalf("block %s: coordinates differ from the file's (%v)", bl.name, err)
			}
		}
		checkMaterialize(t, r, m)
	})
}

// checkMaterialize expands the coordinates into a copy of m, which must
// keep every weight outside the encoder.
func checkMaterialize(t *testing.T, r *Reparam, m *model.Model) {
	t.Helper()
	before := slices.Clone(m.Data)
	defer copy(m.Data, before)
	r.Materialize(m)
	for _, tn := range m.Tensors {
		if IsEncoderTensor(tn.Name) {
			continue
		}
		for i := tn.Offset; i < tn.Offset+tn.Size; i++ {
			if math.Float32bits(m.Data[i]) != math.Float32bits(before[i]) {
				t.Fatalf("%s changed", tn.Name)
			}
		}
	}
}

// TestLoadRejectsBadValues: a basis or coordinates file that parses but
// holds values no extraction or run writes is refused, naming the file and
// the tensor or key, instead of training on garbage.
func TestLoadRejectsBadValues(t *testing.T) {
	m := tinyModel(t, 2, 4)
	c := m.Config
	tr := trajectoryAround(t, m, 3)
	basis := filepath.Join(t.TempDir(), "basis.safetensors")
	if _, err := Extract(tr.all(), basis, ExtractOptions{Scope: ScopeMatrix}); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBasis(basis, Expect{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(m, b, Options{Ensemble: 2, Seed: 1, InitStd: 1})
	if err != nil {
		t.Fatal(err)
	}
	coords := filepath.Join(t.TempDir(), "z.safetensors")
	if err := r.SaveCoordinates(coords); err != nil {
		t.Fatal(err)
	}
	// rewrite writes a changed copy of path.
	rewrite := func(path string, change func(ts map[string]safetensors.Tensor, meta map[string]string)) string {
		ts, meta, err := safetensors.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		change(ts, meta)
		out := filepath.Join(t.TempDir(), filepath.Base(path))
		if err := safetensors.Write(out, ts, meta); err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := "layer.0." + c.LayerLayout()[0].Name
	for _, tc := range []struct {
		name   string
		path   string
		change func(ts map[string]safetensors.Tensor, meta map[string]string)
		want   string
	}{
		{"NaN direction", basis, func(ts map[string]safetensors.Tensor, _ map[string]string) {
			ts[first+basisSuffix].F32[5] = float32(math.NaN())
		}, first + ".basis: element 5 is not a number of magnitude at most 1.1"},
		{"huge direction", basis, func(ts map[string]safetensors.Tensor, _ map[string]string) {
			ts[first+basisSuffix].F32[0] = 3e38
		}, first + ".basis: element 0"},
		{"negative singular value", basis, func(ts map[string]safetensors.Tensor, _ map[string]string) {
			ts[first+sigmaSuffix].F32[0] = -1
		}, first + ".singular_values: singular value -1"},
		{"layout beyond the layer", basis, func(_ map[string]safetensors.Tensor, meta map[string]string) {
			meta[metaLayerTensors] = strings.Replace(meta[metaLayerTensors], `"offset":0`, `"offset":-64`, 1)
		}, "layer_tensors: layer tensor"},
		{"NaN coordinate", coords, func(ts map[string]safetensors.Tensor, _ map[string]string) {
			ts[first+zSuffix].F32[1] = float32(math.Inf(-1))
		}, "coordinate 1 is not a finite number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := rewrite(tc.path, tc.change)
			if tc.path == basis {
				_, err = LoadBasis(path, Expect{})
			} else {
				err = r.LoadCoordinates(path)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, path, tc.want)
			}
		})
	}
}
