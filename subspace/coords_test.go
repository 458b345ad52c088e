package subspace

import (
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trajectory"
)

// TestCoordinatesRecordTheRun: the coordinates file of an intrinsic run
// records the basis file's path, SHA-256, rows and in-memory dtype, h and
// every block's d; a random run's records its recipe.
func TestCoordinatesRecordTheRun(t *testing.T) {
	m := tinyModel(t, 2, 8)
	c := m.Config
	intrinsic := extractedBasis(t, m, ScopeLayer)
	dense, err := NewRandomBasis(KindDense, 2, c.LayerSize(), 3, 5, safetensors.BF16)
	if err != nil {
		t.Fatal(err)
	}
	wantSHA, err := trajectory.HashFile(intrinsic.Source)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		b    *Basis
		want Coordinates
	}{
		{intrinsic, Coordinates{Kind: KindIntrinsic, Scope: ScopeLayer, Rows: RowsDelta, Basis: intrinsic.Source,
			BasisID: intrinsic.ID(), BasisSHA256: wantSHA, BasisDType: safetensors.F32, Theta0SHA256: trajectory.HashLayers(m),
			NumLayers: 2, LayerSize: c.LayerSize(), Dims: []int{4, 4}, Ensemble: 3, InitStd: 0.5, Seed: 9}},
		{dense, Coordinates{Kind: KindDense, Scope: ScopeLayer, Basis: dense.Source, BasisID: dense.ID(),
			BasisDType: safetensors.BF16, BasisSeed: 5, NumLayers: 2, LayerSize: c.LayerSize(), Dims: []int{3, 3},
			Ensemble: 3, InitStd: 0.5, Seed: 9}},
	} {
		t.Run(tc.want.Kind, func(t *testing.T) {
			r, err := New(m, tc.b, Options{Ensemble: 3, Seed: 9, InitStd: 0.5})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), CoordinatesFile)
			if err := r.SaveCoordinates(path); err != nil {
				t.Fatal(err)
			}
			got, err := ReadCoordinates(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("read back\n%+v\nwant\n%+v", *got, tc.want)
			}
		})
	}
}

// TestReadCoordinatesOldAndBroken: a file written before the basis's
// SHA-256, dtype and rows were recorded reads with them empty; a file
// missing what the update cannot be rebuilt without is refused, naming
// the file and every missing key.
func TestReadCoordinatesOldAndBroken(t *testing.T) {
	full := (&Coordinates{Kind: KindDense, Scope: ScopeLayer, Basis: "dense random basis", BasisID: "dense:x",
		BasisDType: safetensors.F32, BasisSeed: 1, NumLayers: 2, LayerSize: 8, Dims: []int{2, 2},
		Ensemble: 4, InitStd: 1, Seed: 3}).metadata()
	write := func(meta map[string]string) string {
		path := filepath.Join(t.TempDir(), CoordinatesFile)
		ts := map[string]safetensors.Tensor{"layer.0.z": {DType: safetensors.F32, Shape: []int{1}, F32: []float32{0}}}
		if err := safetensors.Write(path, ts, meta); err != nil {
			t.Fatal(err)
		}
		return path
	}
	old := maps.Clone(full)
	delete(old, coordBasisDType)
	c, err := ReadCoordinates(write(old))
	if err != nil {
		t.Fatal(err)
	}
	if c.BasisDType != "" || c.BasisSHA256 != "" || c.Ensemble != 4 || !slices.Equal(c.Dims, []int{2, 2}) {
		t.Errorf("old file read as %+v", *c)
	}
	for _, tc := range []struct {
		drop []string
		set  map[string]string
		want []string
	}{
		{drop: []string{coordEnsemble, coordDims}, want: []string{"ensemble is missing", "dims is missing"}},
		{set: map[string]string{coordEnsemble: "0"}, want: []string{"ensemble \"0\""}},
		{set: map[string]string{coordDims: "[]"}, want: []string{"dims \"[]\""}},
		{set: map[string]string{metaFormat: "subtune-subspace"}, want: []string{"not a subspace coordinates file"}},
		{set: map[string]string{metaVersion: "2"}, want: []string{"version \"2\""}},
	} {
		meta := maps.Clone(full)
		for _, k := range tc.drop {
			delete(meta, k)
		}
		maps.Copy(meta, tc.set)
		path := write(meta)
		_, err := ReadCoordinates(path)
		if err == nil {
			t.Errorf("%v %v: accepted", tc.drop, tc.set)
			continue
		}
		for _, w := range append(tc.want, path) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v %v: %v does not say %q", tc.drop, tc.set, err, w)
			}
		}
	}
}
