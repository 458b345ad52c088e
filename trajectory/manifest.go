package trajectory

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

// File names inside a trajectory directory.
const (
	ManifestFile = "trajectory.json"
	Theta0File   = "theta0.safetensors"
	formatName   = "subtune-trajectory"
	formatV      = 1
)

// How checkpoint files store a layer.
const (
	StoredRaw   = "raw"   // θi itself
	StoredDelta = "delta" // θi − θ0
)

// Manifest is trajectory.json.
type Manifest struct {
	Format  string `json:"format"`  // "subtune-trajectory"
	Version int    `json:"version"` // 1

	BaseModel BaseModel `json:"base_model"`
	Task      string    `json:"task"`
	Seed      uint64    `json:"seed"`
	// Schedule is what --save_trajectory asked for: "epoch" or "steps:N".
	Schedule string `json:"save_trajectory"`
	// DType is the storage type of the checkpoint files, "F32" or "BF16";
	// Stored says whether they hold θi ("raw") or θi − θ0 ("delta").
	DType  string `json:"dtype"`
	Stored string `json:"stored"`

	NumLayers    int               `json:"num_layers"`
	LayerSize    int               `json:"layer_size"`    // D, numbers per layer
	LayerTensors model.LayerLayout `json:"layer_tensors"` // the order within a layer's vector

	Theta0      Entry        `json:"theta0"`
	Checkpoints []Checkpoint `json:"checkpoints"` // in training order
}

// BaseModel identifies θ0.
type BaseModel struct {
	Path string `json:"path"` // --model_name_or_path as given
	// Theta0SHA256 is HashLayers of the model before fine-tuning.
	Theta0SHA256 string `json:"theta0_sha256"`
	ModelType    string `json:"model_type"`
	HiddenSize   int    `json:"hidden_size"`
	Intermediate int    `json:"intermediate_size"`
}

// Entry describes one safetensors file of the trajectory.
type Entry struct {
	File   string `json:"file"`   // name inside the trajectory directory
	Bytes  int64  `json:"bytes"`  // file size
	SHA256 string `json:"sha256"` // of the whole file
	// LayerSHA256[l] is the SHA-256 of tensor "layer.<l>"'s stored bytes.
	LayerSHA256 []string `json:"layer_sha256"`
}

// Checkpoint is one saved point of the trajectory.
type Checkpoint struct {
	Step  int     `json:"step"`  // optimiser steps taken
	Epoch float64 `json:"epoch"` // epochs done, fractional as the Trainer counts them
	Entry
}

// TensorName is the name of layer l's vector in a trajectory file.
func TensorName(l int) string { return "layer." + strconv.Itoa(l) }

// ParseSchedule checks a --save_trajectory value: "epoch", "steps:N" with
// N > 0, or "" / "no" for none. It returns N for steps (0 for epoch).
func ParseSchedule(s string) (every int, ok bool, err error) {
	switch {
	case s == "" || s == "no":
		return 0, false, nil
	case s == "epoch":
		return 0, true, nil
	case strings.HasPrefix(s, "steps:"):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "steps:"))
		if err != nil || n <= 0 {
			return 0, false, fmt.Errorf("--save_trajectory %q: want steps:N with N a positive integer", s)
		}
		return n, true, nil
	}
	return 0, false, fmt.Errorf("--save_trajectory %q: want \"epoch\" or \"steps:N\"", s)
}

// ReadManifest reads and checks dir/trajectory.json.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trajectory: %w", err)
	}
	m, err := parseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("trajectory: %s: %w", path, err)
	}
	return m, nil
}

func parseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) check() error {
	if m.Format != formatName || m.Version != formatV {
		return fmt.Errorf("not a %s v%d manifest (format %q, version %d)", formatName, formatV, m.Format, m.Version)
	}
	if m.NumLayers <= 0 || m.LayerSize <= 0 {
		return fmt.Errorf("num_layers %d, layer_size %d: want positive", m.NumLayers, m.LayerSize)
	}
	if err := m.LayerTensors.Check(m.LayerSize); err != nil {
		return fmt.Errorf("layer_tensors: %w", err)
	}
	switch {
	case m.DType == string(safetensors.F32) && m.Stored == StoredRaw:
	case m.DType == string(safetensors.BF16) && m.Stored == StoredDelta:
	default:
		return fmt.Errorf("dtype %q with stored %q is not a combination subtune writes", m.DType, m.Stored)
	}
	entries := append([]Entry{m.Theta0}, make([]Entry, 0, len(m.Checkpoints))...)
	for i, c := range m.Checkpoints {
		if i > 0 && c.Step <= m.Checkpoints[i-1].Step {
			return fmt.Errorf("checkpoint %d (step %d) does not come after step %d", i, c.Step, m.Checkpoints[i-1].Step)
		}
		entries = append(entries, c.Entry)
	}
	for i, e := range entries {
		if e.File == "" || filepath.Base(e.File) != e.File || e.File == "." || e.File == ".." {
			return fmt.Errorf("invalid file name %q", e.File)
		}
		if len(e.LayerSHA256) != m.NumLayers || len(e.SHA256) != 64 {
			return fmt.Errorf("%s: hashes missing (want the file's and one per layer)", e.File)
		}
		// The sizes a reader allocates for must fit in the files, whose
		// sizes Open checks.
		elem := int64(safetensors.DType(m.DType).Bits() / 8)
		if i == 0 {
			elem = 4 // θ0 is always F32
		}
		if int64(m.LayerSize) > e.Bytes/elem/int64(m.NumLayers) {
			return fmt.Errorf("%s: %d bytes cannot hold %d layers of %d numbers", e.File, e.Bytes, m.NumLayers, m.LayerSize)
		}
	}
	return nil
}
