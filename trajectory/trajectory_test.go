package trajectory

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

func tinyModel(t testing.TB) *model.Model {
	t.Helper()
	return testmodel.Model(t, testmodel.Tiny(3), model.SequenceClassification, 7)
}

// nudge moves every encoder weight by a small, step-dependent amount, as
// fine-tuning would.
func nudge(m *model.Model, step int) {
	for l := 0; l < m.Config.NumHiddenLayers; l++ {
		for i, x := range m.Layer(l) {
			m.Layer(l)[i] = x + 1e-3*float32(math.Sin(float64(step*131+l*17+i)))
		}
	}
}

// record writes a trajectory of three checkpoints and returns the layers
// it saw, [checkpoint][layer][]float32, with θ0 first.
func record(t testing.TB, dir string, dtype safetensors.DType) [][][]float32 {
	t.Helper()
	m := tinyModel(t)
	snap := func() [][]float32 {
		var s [][]float32
		for l := 0; l < m.Config.NumHiddenLayers; l++ {
			s = append(s, append([]float32(nil), m.Layer(l)...))
		}
		return s
	}
	all := [][][]float32{snap()}
	w, err := Create(dir, m, Options{BaseModelPath: "tiny", Task: "rte", Seed: 42, Schedule: "epoch", DType: dtype})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for k := 1; k <= 3; k++ {
		nudge(m, k)
		if err := w.Append(m, 10*k, float64(k)); err != nil {
			t.Fatal(err)
		}
		all = append(all, snap())
	}
	return all
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		dtype          safetensors.DType
		layerTol, dTol float64 // max abs error of θk and of θk − θ0
	}{
		{safetensors.F32, 0, 1e-9},
		// A bfloat16 delta keeps 8 significant bits of a ~1e-3 update.
		{safetensors.BF16, 1e-5, 1e-5},
	} {
		t.Run(string(tc.dtype), func(t *testing.T) {
			dir := t.TempDir()
			want := record(t, dir, tc.dtype)
			r, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := r.Verify(); err != nil {
				t.Fatal(err)
			}
			man := r.Manifest
			if r.NumCheckpoints() != 3 || man.Checkpoints[2].Step != 30 || man.Checkpoints[2].Epoch != 3 {
				t.Fatalf("manifest checkpoints %+v", man.Checkpoints)
			}
			if man.BaseModel.Theta0SHA256 != HashLayers(tinyModel(t)) {
				t.Fatal("θ0 hash is not HashLayers of the base model")
			}
			D := man.LayerSize
			got := make([]float32, D)
			for l := 0; l < man.NumLayers; l++ {
				if err := r.ReadTheta0(l, got); err != nil {
					t.Fatal(err)
				}
				if d := maxDiff(got, want[0][l], nil); d != 0 {
					t.Fatalf("θ0 layer %d differs by %g", l, d)
				}
				for k := 0; k < 3; k++ {
					if err := r.ReadLayer(k, l, got); err != nil {
						t.Fatal(err)
					}
					if d := maxDiff(got, want[k+1][l], nil); d > tc.layerTol {
						t.Errorf("checkpoint %d layer %d differs by %g", k, l, d)
					}
					if err := r.ReadDelta(k, l, got); err != nil {
						t.Fatal(err)
					}
					if d := maxDiff(got, want[k+1][l], want[0][l]); d > tc.dTol {
						t.Errorf("delta %d layer %d differs by %g", k, l, d)
					}
				}
			}
		})
	}
}

// maxDiff is max |a − (b − c)| (c may be nil).
func maxDiff(a, b, c []float32) float64 {
	var m float64
	for i := range a {
		want := float64(b[i])
		if c != nil {
			want = float64(b[i] - c[i])
		}
		m = max(m, math.Abs(float64(a[i])-want))
	}
	return m
}

func TestHashLayers(t *testing.T) {
	m := tinyModel(t)
	h := HashLayers(m)
	if len(h) != 64 || HashLayers(tinyModel(t)) != h {
		t.Fatal("HashLayers is not a deterministic SHA-256")
	}
	m.Data[0] += 1 // a word embedding: not part of the encoder layers
	if HashLayers(m) != h {
		t.Fatal("HashLayers depends on the embeddings")
	}
	m.Layer(2)[5] += 1e-7
	if HashLayers(m) == h {
		t.Fatal("HashLayers misses a change in layer 2")
	}
}

func TestCorruptionRejected(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, dir string)
		atOpen bool // rejected by Open rather than by a read
	}{
		{"truncated checkpoint", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "step-20.safetensors")
			st, _ := os.Stat(p)
			if err := os.Truncate(p, st.Size()-10); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"missing checkpoint", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "step-30.safetensors"))
		}, true},
		{"flipped byte in a layer", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "step-20.safetensors")
			b, _ := os.ReadFile(p)
			b[len(b)-3] ^= 0x40
			os.WriteFile(p, b, 0o644)
		}, false},
		{"wrong hash in manifest", func(t *testing.T, dir string) {
			p := filepath.Join(dir, ManifestFile)
			b, _ := os.ReadFile(p)
			man, _ := ReadManifest(dir)
			h := man.Checkpoints[1].LayerSHA256[2]
			b = []byte(strings.Replace(string(b), h, strings.Repeat("0", 64), 1))
			os.WriteFile(p, b, 0o644)
		}, false},
		{"flipped byte in θ0", func(t *testing.T, dir string) {
			p := filepath.Join(dir, Theta0File)
			b, _ := os.ReadFile(p)
			b[len(b)-5] ^= 1
			os.WriteFile(p, b, 0o644)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			record(t, dir, safetensors.F32)
			tc.break_(t, dir)
			r, err := Open(dir)
			if tc.atOpen {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Open: %v, want ErrCorrupt", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := r.Verify(); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Verify: %v, want ErrCorrupt", err)
			}
			// Reading every layer must hit the damaged one.
			buf := make([]float32, r.Manifest.LayerSize)
			var readErr error
			for l := 0; l < r.Manifest.NumLayers && readErr == nil; l++ {
				readErr = r.ReadTheta0(l, buf)
			}
			for k := 0; k < r.NumCheckpoints() && readErr == nil; k++ {
				for l := 0; l < r.Manifest.NumLayers && readErr == nil; l++ {
					readErr = r.ReadLayer(k, l, buf)
				}
			}
			if !errors.Is(readErr, ErrCorrupt) {
				t.Fatalf("reads: %v, want ErrCorrupt", readErr)
			}
		})
	}
}

func TestResume(t *testing.T) {
	dir := t.TempDir()
	record(t, dir, safetensors.BF16)
	base := tinyModel(t)
	if _, err := Resume(dir, strings.Repeat("a", 64), 20); err == nil {
		t.Fatal("Resume accepted another base model")
	}
	w, err := Resume(dir, HashLayers(base), 20)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if man := w.Manifest(); len(man.Checkpoints) != 2 || !w.Has(20) || w.Has(30) {
		t.Fatalf("after resuming at step 20: %+v", man.Checkpoints)
	}
	if err := w.Append(base, 20, 2); err == nil {
		t.Fatal("Append accepted a step already recorded")
	}
	nudge(base, 9)
	if err := w.Append(base, 25, 2.5); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	if r.NumCheckpoints() != 3 || r.Manifest.Checkpoints[2].Step != 25 {
		t.Fatalf("checkpoints %+v", r.Manifest.Checkpoints)
	}
	if _, err := Create(dir, base, Options{}); err == nil {
		t.Fatal("Create overwrote an existing trajectory")
	}
}

func TestParseSchedule(t *testing.T) {
	for _, tc := range []struct {
		in    string
		every int
		on    bool
		bad   bool
	}{
		{"", 0, false, false}, {"no", 0, false, false}, {"epoch", 0, true, false},
		{"steps:50", 50, true, false}, {"steps:0", 0, false, true}, {"steps:x", 0, false, true}, {"epochs", 0, false, true},
	} {
		every, on, err := ParseSchedule(tc.in)
		if every != tc.every || on != tc.on || (err != nil) != tc.bad {
			t.Errorf("ParseSchedule(%q) = %d, %v, %v", tc.in, every, on, err)
		}
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	record(t, dir, safetensors.F32)
	os.WriteFile(filepath.Join(dir, ".step-40.safetensors.tmp-123"), nil, 0o644) // a killed write
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "notes.txt" {
		t.Fatalf("left %v", entries)
	}
	os.Remove(filepath.Join(dir, "notes.txt"))
	record(t, dir, safetensors.F32)
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("an emptied trajectory directory was kept")
	}
	if err := Remove(dir); err != nil {
		t.Fatal("removing nothing failed:", err)
	}
}

// TestManifestRejected: manifests whose numbers disagree with each other or
// with the files' sizes are refused before anything is allocated for them.
func TestManifestRejected(t *testing.T) {
	dir := t.TempDir()
	record(t, dir, safetensors.BF16)
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(m *Manifest)
		want   string
	}{
		{"layer size beyond the files", func(m *Manifest) {
			m.LayerSize = 1 << 40
			m.LayerTensors = model.LayerLayout{{Name: "all", Shape: []int{1 << 40}, Size: 1 << 40}}
		}, "bytes cannot hold 3 layers of 1099511627776 numbers"},
		{"sizes that wrap around", func(m *Manifest) {
			big := math.MaxInt/2 + 1
			m.LayerTensors = model.LayerLayout{{Name: "a", Shape: []int{big}, Size: big}, {Name: "b", Shape: []int{big}, Offset: big, Size: big},
				{Name: "c", Shape: []int{m.LayerSize}, Offset: 0, Size: m.LayerSize}}
		}, "layer tensor a at offset 0"},
		{"shape and size disagree", func(m *Manifest) { m.LayerTensors[1].Shape = []int{3, 5} }, "has shape [3 5] and size"},
		{"file name", func(m *Manifest) { m.Checkpoints[0].File = ".." }, `invalid file name ".."`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseManifest(data)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(m)
			changed, _ := json.Marshal(m)
			_, err = parseManifest(changed)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
