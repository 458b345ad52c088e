package subspace

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trajectory"
)

// recordTrajectory writes a trajectory of n checkpoints of a tiny model,
// moving its encoder at random between checkpoints, and returns the same
// data as a memTrajectory holding exactly the deltas a reader of that
// storage type sees.
func recordTrajectory(t *testing.T, dir string, dtype safetensors.DType, n int) *memTrajectory {
	return recordTrajectorySeeded(t, dir, dtype, n, 12)
}

// recordTrajectorySeeded is recordTrajectory with the moves drawn from
// seed: the same θ0, another path.
func recordTrajectorySeeded(t *testing.T, dir string, dtype safetensors.DType, n int, seed uint64) *memTrajectory {
	m := tinyModel(t, 2, 11)
	c := m.Config
	L, D := c.NumHiddenLayers, c.LayerSize()
	w, err := trajectory.Create(dir, m, trajectory.Options{BaseModelPath: "tiny", Task: "test", Seed: 1, Schedule: "epoch", DType: dtype})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	theta0 := make([][]float32, L)
	for l := range theta0 {
		theta0[l] = append([]float32(nil), m.Layer(l)...)
	}
	rng := rand.New(rand.NewPCG(seed, 12))
	var delta [][][]float32
	for k := 0; k < n; k++ {
		row := make([][]float32, L)
		for l := 0; l < L; l++ {
			x := m.Layer(l)
			for j := range x {
				x[j] += float32(1e-3 * rng.NormFloat64())
			}
			row[l] = make([]float32, D)
			for j := range x {
				row[l][j] = x[j] - theta0[l][j]
				if dtype == safetensors.BF16 {
					row[l][j] = safetensors.BF16ToF32(safetensors.F32ToBF16(row[l][j]))
				}
			}
		}
		delta = append(delta, row)
		if err := w.Append(m, 10*(k+1), float64(k+1)); err != nil {
			t.Fatal(err)
		}
	}
	return newMemTrajectory(theta0, delta, c.LayerLayout())
}

// TestExtractFromTrajectoryDir: extraction through the trajectory reader
// (float32 checkpoints, and bfloat16 ones that store deltas) gives what the
// same numbers give in memory, reads what it should, and the file records
// its source.
func TestExtractFromTrajectoryDir(t *testing.T) {
	for _, dt := range []safetensors.DType{safetensors.F32, safetensors.BF16} {
		t.Run(string(dt), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "trajectory")
			const n = 5
			mem := recordTrajectory(t, dir, dt, n)
			tr, err := OpenRun(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if tr.storesDeltas() != (dt == safetensors.BF16) {
				t.Fatalf("storesDeltas = %v for %s", tr.storesDeltas(), dt)
			}
			out := filepath.Join(t.TempDir(), "basis.safetensors")
			var log strings.Builder
			st, err := Extract(All(tr), out, ExtractOptions{Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			ref, err := Extract(mem.all(), filepath.Join(t.TempDir(), "ref.safetensors"), ExtractOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for u := range st.Spectra {
				for i, s := range st.Spectra[u].Sigma {
					if r := ref.Spectra[u].Sigma[i]; math.Abs(s-r) > 1e-12*ref.Spectra[u].Sigma[0] {
						t.Errorf("%s σ%d = %v from the directory, %v in memory", st.Spectra[u].Name, i, s, r)
					}
				}
			}
			L, D := int64(tr.Manifest.NumLayers), int64(tr.Manifest.LayerSize)
			stored := 4 * D
			pass2Theta0 := L * 4 * D
			if dt == safetensors.BF16 {
				stored, pass2Theta0 = 2*D, 0
			}
			// θ0 once for its hash, then two passes over the checkpoints,
			// with θ0 again wherever deltas are formed from θk.
			if want := L*4*D + 2*(L*n*stored+pass2Theta0); st.BytesRead != want {
				t.Errorf("read %d bytes, want %d", st.BytesRead, want)
			}
			f, err := safetensors.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			md := f.Metadata()
			if md[metaTrajectory] != dir || md["trajectory_steps"] != "[10,20,30,40,50]" || md[metaTheta0] != mem.Theta0Hash() {
				t.Errorf("metadata %v", md)
			}
			if !strings.Contains(log.String(), "MB/s") || !strings.Contains(log.String(), "layer.1: rank 5/5") {
				t.Errorf("log:\n%s", log.String())
			}
		})
	}
}

// TestExtractRefusesCorruptTrajectory: a θ0 that does not hash to the
// manifest's value, and a checkpoint whose bytes changed, stop the
// extraction before anything is written.
func TestExtractRefusesCorruptTrajectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "trajectory")
	recordTrajectory(t, dir, safetensors.F32, 3)
	out := filepath.Join(t.TempDir(), "basis.safetensors")

	man := filepath.Join(dir, trajectory.ManifestFile)
	orig, err := os.ReadFile(man)
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := trajectory.ReadManifest(dir)
	bad := strings.Replace(string(orig), mt.BaseModel.Theta0SHA256, strings.Repeat("0", 64), 1)
	if err := os.WriteFile(man, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := OpenRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Extract(All(tr), out, ExtractOptions{}); err == nil || !strings.Contains(err.Error(), "θ0 hashes to") {
		t.Errorf("wrong θ0 hash: %v", err)
	}
	tr.Close()
	os.WriteFile(man, orig, 0o644)

	ck := filepath.Join(dir, mt.Checkpoints[1].File)
	b, _ := os.ReadFile(ck)
	b[len(b)-5] ^= 0x40
	os.WriteFile(ck, b, 0o644)
	tr, err = OpenRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := Extract(All(tr), out, ExtractOptions{}); !errors.Is(err, trajectory.ErrCorrupt) {
		t.Errorf("corrupt checkpoint: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed extraction left %s", out)
	}
}
