package trajectory

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

// Options describes a new trajectory.
type Options struct {
	BaseModelPath string
	Task          string
	Seed          uint64
	Schedule      string            // "epoch" or "steps:N", recorded as given
	DType         safetensors.DType // F32 (default) or BF16
}

// Writer appends checkpoints to a trajectory directory. It holds one
// layer's worth of scratch memory and is not safe for concurrent use.
type Writer struct {
	dir    string
	man    Manifest
	theta0 *Reader // θ0's layers, read back for deltas (BF16 only)
	buf    []byte  // one layer, encoded
	delta  []float32
	u16    []uint16
}

// Create starts a trajectory in dir (created if needed) for model m, whose
// current weights are θ0: it writes theta0.safetensors and the manifest.
// It refuses a directory that already holds a manifest; resume with Resume.
func Create(dir string, m *model.Model, o Options) (*Writer, error) {
	if o.DType == "" {
		o.DType = safetensors.F32
	}
	stored := StoredRaw
	switch o.DType {
	case safetensors.F32:
	case safetensors.BF16:
		stored = StoredDelta
	default:
		return nil, fmt.Errorf("trajectory: dtype %s not supported (F32 or BF16)", o.DType)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("trajectory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err == nil {
		return nil, fmt.Errorf("trajectory: %s already holds a trajectory (resume it, or remove it)", dir)
	}
	c := m.Config
	w := &Writer{dir: dir, man: Manifest{
		Format: formatName, Version: formatV,
		BaseModel: BaseModel{Path: o.BaseModelPath, Theta0SHA256: HashLayers(m), ModelType: c.ModelType,
			HiddenSize: c.HiddenSize, Intermediate: c.IntermediateSize},
		Task: o.Task, Seed: o.Seed, Schedule: o.Schedule,
		DType: string(o.DType), Stored: stored,
		NumLayers: c.NumHiddenLayers, LayerSize: c.LayerSize(), LayerTensors: m.LayerLayout(),
		Checkpoints: []Checkpoint{},
	}}
	e, err := w.writeFile(Theta0File, m, safetensors.F32, StoredRaw, map[string]string{"step": "0", "epoch": "0"})
	if err != nil {
		return nil, err
	}
	w.man.Theta0 = e
	if err := w.writeManifest(); err != nil {
		return nil, err
	}
	return w, w.openTheta0()
}

// Resume reopens the trajectory in dir to continue a run from optimiser
// step `step`: checkpoints saved after it are dropped from the manifest
// (the resumed run writes them again). theta0Hash must be HashLayers of the
// run's base model, so a trajectory is never continued with another model.
func Resume(dir, theta0Hash string, step int) (*Writer, error) {
	man, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	// What the killed run was writing when it stopped.
	if err := atomicfile.RemoveTemps(dir); err != nil {
		return nil, fmt.Errorf("trajectory: %w", err)
	}
	if man.BaseModel.Theta0SHA256 != theta0Hash {
		return nil, fmt.Errorf("trajectory: %s was recorded from a different base model (θ0 hash %.12s…, this model %.12s…)",
			dir, man.BaseModel.Theta0SHA256, theta0Hash)
	}
	keep := 0
	for keep < len(man.Checkpoints) && man.Checkpoints[keep].Step <= step {
		keep++
	}
	man.Checkpoints = man.Checkpoints[:keep]
	w := &Writer{dir: dir, man: *man}
	if err := w.writeManifest(); err != nil {
		return nil, err
	}
	return w, w.openTheta0()
}

func (w *Writer) openTheta0() error {
	if w.man.Stored != StoredDelta {
		return nil
	}
	r, err := Open(w.dir)
	if err != nil {
		return err
	}
	w.theta0 = r
	return nil
}

// Manifest returns a copy of the manifest as last written.
func (w *Writer) Manifest() Manifest {
	m := w.man
	m.Checkpoints = append([]Checkpoint(nil), w.man.Checkpoints...)
	return m
}

// Dir is the trajectory directory.
func (w *Writer) Dir() string { return w.dir }

// Has reports whether a checkpoint of the given step is recorded.
func (w *Writer) Has(step int) bool {
	for _, c := range w.man.Checkpoints {
		if c.Step == step {
			return true
		}
	}
	return false
}

// Append records m's encoder as the checkpoint after `step` optimiser steps
// (epoch: the fractional epoch count). The file is committed before the
// manifest names it.
func (w *Writer) Append(m *model.Model, step int, epoch float64) error {
	if n := len(w.man.Checkpoints); n > 0 && w.man.Checkpoints[n-1].Step >= step {
		return fmt.Errorf("trajectory: checkpoint for step %d after step %d", step, w.man.Checkpoints[n-1].Step)
	}
	if m.Config.NumHiddenLayers != w.man.NumLayers || m.Config.LayerSize() != w.man.LayerSize {
		return fmt.Errorf("trajectory: model has %d layers of %d, trajectory %d of %d",
			m.Config.NumHiddenLayers, m.Config.LayerSize(), w.man.NumLayers, w.man.LayerSize)
	}
	name := fmt.Sprintf("step-%d.safetensors", step)
	meta := map[string]string{"step": strconv.Itoa(step), "epoch": strconv.FormatFloat(epoch, 'g', -1, 64)}
	e, err := w.writeFile(name, m, safetensors.DType(w.man.DType), w.man.Stored, meta)
	if err != nil {
		return err
	}
	w.man.Checkpoints = append(w.man.Checkpoints, Checkpoint{Step: step, Epoch: epoch, Entry: e})
	return w.writeManifest()
}

// Close releases the θ0 file.
func (w *Writer) Close() error {
	if w.theta0 != nil {
		return w.theta0.Close()
	}
	return nil
}

// writeFile streams every layer of m into dir/name, as θ or as θ − θ0.
func (w *Writer) writeFile(name string, m *model.Model, dtype safetensors.DType, stored string, meta map[string]string) (Entry, error) {
	L, D := m.Config.NumHiddenLayers, m.Config.LayerSize()
	specs := make([]safetensors.TensorSpec, L)
	for l := range specs {
		specs[l] = safetensors.TensorSpec{Name: TensorName(l), DType: dtype, Shape: []int{D}}
	}
	meta["format"] = formatName
	meta["stored"] = stored
	path := filepath.Join(w.dir, name)
	sw, err := safetensors.NewWriter(path, specs, meta)
	if err != nil {
		return Entry{}, fmt.Errorf("trajectory: %w", err)
	}
	defer sw.Abort()
	e := Entry{File: name, LayerSHA256: make([]string, L)}
	size := dtype.Bits() / 8
	if len(w.buf) < size*D {
		w.buf = make([]byte, size*D)
	}
	// safetensors orders tensors by name (layer.10 before layer.2); write
	// them in the order the file wants.
	for _, tn := range sw.Order() {
		l, _ := strconv.Atoi(strings.TrimPrefix(tn, "layer."))
		src := m.Layer(l)
		if stored == StoredDelta {
			if w.delta == nil {
				w.delta = make([]float32, D)
			}
			if err := w.theta0.ReadTheta0(l, w.delta); err != nil {
				return Entry{}, err
			}
			for i, v := range src {
				w.delta[i] = v - w.delta[i]
			}
			src = w.delta
		}
		b := w.encode(dtype, src)
		sum := sha256.Sum256(b)
		e.LayerSHA256[l] = hex.EncodeToString(sum[:])
		if err := sw.WriteRaw(tn, b); err != nil {
			return Entry{}, fmt.Errorf("trajectory: %w", err)
		}
	}
	if e.SHA256, err = sw.Close(); err != nil {
		return Entry{}, fmt.Errorf("trajectory: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return Entry{}, fmt.Errorf("trajectory: %w", err)
	}
	e.Bytes = st.Size()
	return e, nil
}

// encode returns x as little-endian bytes of dtype in w.buf.
func (w *Writer) encode(dtype safetensors.DType, x []float32) []byte {
	switch dtype {
	case safetensors.BF16:
		if len(w.u16) < len(x) {
			w.u16 = make([]uint16, len(x))
		}
		safetensors.F32ToBF16Slice(w.u16, x)
		b := w.buf[:2*len(x)]
		for i, v := range w.u16[:len(x)] {
			binary.LittleEndian.PutUint16(b[2*i:], v)
		}
		return b
	default:
		b := w.buf[:4*len(x)]
		for i, v := range x {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b
	}
}

func (w *Writer) writeManifest() error {
	return atomicfile.WriteJSON(filepath.Join(w.dir, ManifestFile), w.man)
}

// Exists reports whether dir holds a trajectory manifest.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ManifestFile))
	return !errors.Is(err, fs.ErrNotExist)
}

// Remove deletes the trajectory in dir: its manifest and the files a
// trajectory writes (theta0.safetensors, step-*.safetensors and temporary
// files of interrupted writes), then dir itself if nothing else is left.
// Other files are kept, so pointing it at the wrong directory loses nothing
// that is not a trajectory's.
func Remove(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("trajectory: %w", err)
	}
	if err := atomicfile.RemoveTemps(dir); err != nil {
		return fmt.Errorf("trajectory: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		ours := n == ManifestFile || n == Theta0File ||
			(strings.HasPrefix(n, "step-") && strings.HasSuffix(n, ".safetensors"))
		if ours && !e.IsDir() {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("trajectory: %w", err)
			}
		}
	}
	os.Remove(dir) // fails, harmlessly, when other files remain
	return nil
}
