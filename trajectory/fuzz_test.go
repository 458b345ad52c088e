package trajectory

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/subtune/subtune/safetensors"
)

// FuzzManifest opens trajectories whose files a real run wrote (F32 and
// BF16) with an arbitrary trajectory.json. Nothing may panic or allocate
// beyond what the files hold; an accepted manifest survives re-encoding
// unchanged; and every read of an accepted trajectory either succeeds or
// reports ErrCorrupt.
func FuzzManifest(f *testing.F) {
	var dirs [2]string
	for i, dt := range []safetensors.DType{safetensors.F32, safetensors.BF16} {
		dirs[i] = filepath.Join(f.TempDir(), string(dt))
		record(f, dirs[i], dt)
		data, err := os.ReadFile(filepath.Join(dirs[i], ManifestFile))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, i == 1)
		// A manifest of two checkpoints as a resumed run leaves it.
		m, _ := parseManifest(data)
		m.Checkpoints = m.Checkpoints[:2]
		short, _ := json.Marshal(m)
		f.Add(short, i == 1)
	}
	f.Fuzz(func(t *testing.T, manifest []byte, bf16 bool) {
		dir := dirs[0]
		if bf16 {
			dir = dirs[1]
		}
		m, err := parseManifest(manifest)
		if err != nil {
			return
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("an accepted manifest does not encode: %v", err)
		}
		m2, err := parseManifest(again)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-encoded manifest reads back as %+v, %v", m2, err)
		}
		r, err := open(dir, m)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			}
			return
		}
		defer r.Close()
		buf := make([]float32, r.Manifest.LayerSize)
		check := func(what string, err error) {
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: %v, want nil or ErrCorrupt", what, err)
			}
		}
		check("Verify", r.Verify())
		for l := 0; l < r.Manifest.NumLayers; l++ {
			check("ReadTheta0", r.ReadTheta0(l, buf))
			for k := 0; k < r.NumCheckpoints(); k++ {
				check("ReadLayer", r.ReadLayer(k, l, buf))
				check("ReadDelta", r.ReadDelta(k, l, buf))
			}
		}
	})
}
