package subspace

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"strconv"
	"strings"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/trajectory"
)

// Run is the trajectory of one fine-tuning run as extraction reads it: a
// directory written by `subtune finetune --save_trajectory`, read through
// package trajectory (every layer read is checked against the SHA-256 the
// manifest records for it), or checkpoints held in memory.
type Run struct {
	// Name identifies the run in messages and in the extracted file's
	// metadata: the trajectory directory, or the name given NewMemoryRun.
	Name string
	// Manifest describes the run: layers, their layout, θ0's hash, how the
	// checkpoints are stored, and the steps they were taken at.
	Manifest *trajectory.Manifest

	r   *trajectory.Reader // nil for a run held in memory
	mem *memoryRun
}

// memoryRun holds θ0 and the deltas θk − θ0 as float32, per layer.
type memoryRun struct {
	theta0 [][]float32   // [layer][D]
	delta  [][][]float32 // [k][layer][D]
}

// OpenRun opens the trajectory in dir. Close it when done.
func OpenRun(dir string) (*Run, error) {
	r, err := trajectory.Open(dir)
	if err != nil {
		return nil, err
	}
	return &Run{Name: dir, Manifest: r.Manifest, r: r}, nil
}

// NewMemoryRun is a run whose checkpoints are held in memory: θ0
// ([layer][D]) and the deltas θk − θ0 ([k][layer][D]), which extraction
// reads as they are (they are stored deltas, in float32). layout places the
// tensors inside a layer; nil makes the whole layer one tensor.
func NewMemoryRun(name string, theta0 [][]float32, delta [][][]float32, layout model.LayerLayout) *Run {
	D := 0
	if len(theta0) > 0 {
		D = len(theta0[0])
	}
	if layout == nil {
		layout = model.LayerLayout{{Name: "all", Shape: []int{D}, Size: D}}
	}
	h := newLayerHasher()
	for _, l := range theta0 {
		h.add(l)
	}
	man := &trajectory.Manifest{
		BaseModel: trajectory.BaseModel{Theta0SHA256: h.sum()},
		DType:     "F32", Stored: trajectory.StoredDelta,
		NumLayers: len(theta0), LayerSize: D, LayerTensors: layout,
		Checkpoints: make([]trajectory.Checkpoint, len(delta)),
	}
	return &Run{Name: name, Manifest: man, mem: &memoryRun{theta0: theta0, delta: delta}}
}

// NumCheckpoints is the number of checkpoints the run saved (θ0 not
// counted).
func (r *Run) NumCheckpoints() int { return len(r.Manifest.Checkpoints) }

// Close closes the run's files.
func (r *Run) Close() error {
	if r.r == nil {
		return nil
	}
	return r.r.Close()
}

// storesDeltas reports whether the run stores θk − θ0 rather than θk
// (bfloat16 trajectories do, and runs held in memory): such deltas are read
// as stored, since θk = θ0 + delta would lose most of a bfloat16 delta's
// bits.
func (r *Run) storesDeltas() bool { return r.Manifest.Stored == trajectory.StoredDelta }

// storedBytes is the size of one layer of one checkpoint as stored.
func (r *Run) storedBytes() int64 {
	if r.Manifest.DType == "BF16" {
		return 2 * int64(r.Manifest.LayerSize)
	}
	return 4 * int64(r.Manifest.LayerSize)
}

// reader returns a reader of the run for one goroutine: a run held in
// memory is shared; a directory is opened again, refused if its manifest
// changed since OpenRun.
func (r *Run) reader() (*trajectory.Reader, error) {
	if r.r == nil {
		return nil, nil
	}
	f, err := trajectory.Open(r.r.Dir)
	if err != nil {
		return nil, err
	}
	a, _ := json.Marshal(r.Manifest)
	b, _ := json.Marshal(f.Manifest)
	if !bytes.Equal(a, b) {
		f.Close()
		return nil, fmt.Errorf("%s: the trajectory changed while it was being read", r.Name)
	}
	return f, nil
}

// steps are the optimiser steps of the run's checkpoints, nil for a run
// held in memory.
func (r *Run) steps() []int {
	if r.r == nil {
		return nil
	}
	steps := make([]int, len(r.Manifest.Checkpoints))
	for i, c := range r.Manifest.Checkpoints {
		steps[i] = c.Step
	}
	return steps
}

// metadata describes the run a trajectory directory comes from, for the
// extracted file's metadata; nil for a run held in memory.
func (r *Run) metadata() map[string]string {
	if r.r == nil {
		return nil
	}
	m := r.Manifest
	return map[string]string{
		"trajectory_task":       m.Task,
		"trajectory_seed":       strconv.FormatUint(m.Seed, 10),
		"trajectory_schedule":   m.Schedule,
		"trajectory_dtype":      m.DType,
		"trajectory_base_model": m.BaseModel.Path,
		"trajectory_steps":      intsJSON(r.steps()),
	}
}

func intsJSON(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// layerHasher computes trajectory.HashLayers from layers fed in order.
type layerHasher struct {
	h   hash.Hash
	buf []byte
}

func newLayerHasher() *layerHasher { return &layerHasher{h: sha256.New(), buf: make([]byte, 4<<16)} }

func (lh *layerHasher) add(x []float32) {
	for len(x) > 0 {
		n := min(len(x), len(lh.buf)/4)
		b := lh.buf[:4*n]
		for i, v := range x[:n] {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		lh.h.Write(b)
		x = x[n:]
	}
}

func (lh *layerHasher) sum() string { return hex.EncodeToString(lh.h.Sum(nil)) }
