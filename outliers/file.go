package outliers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/subtune/subtune/atomicfile"
)

// FileName is what `subtune outliers` calls its JSON output.
const FileName = "outliers.json"

const (
	fileFormat  = "subtune-outliers"
	fileVersion = 1
)

// Source says what an analysis was computed from.
type Source struct {
	Run          string `json:"run"`           // the run directory
	Model        string `json:"model"`         // θ0's model folder
	Theta0SHA256 string `json:"theta0_sha256"` // trajectory.HashLayers of θ0
	Basis        string `json:"basis"`         // the basis file, or a random basis's description
	BasisKind    string `json:"basis_kind"`
	BasisID      string `json:"basis_id"`
	BasisDType   string `json:"basis_dtype,omitempty"`
	// ReconstructionError is ‖(θ_final − θ0) − Δ‖/‖Δ‖ over the encoder: how
	// well the rebuilt update matches the run's saved weights (nil: not
	// checked).
	ReconstructionError *float64 `json:"reconstruction_error,omitempty"`
}

// File is the content of outliers.json: the analysis, with the outliers'
// positions per layer (LayerStats.Indices) for the ablation.
type File struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Source  Source `json:"source"`
	Result

	path string // where it was read from
}

// WriteFile writes r and its source to path as JSON: the summary fields
// one per line, each layer, tensor and dimension on a line of its own.
func WriteFile(path string, r *Result, src Source) error {
	var b bytes.Buffer
	first := true
	field := func(key string, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("outliers: %s: %w", key, err)
		}
		if !first {
			b.WriteString(",\n")
		}
		first = false
		fmt.Fprintf(&b, "  %q: %s", key, data)
		return nil
	}
	list := func(key string, n int, item func(i int) any) error {
		if !first {
			b.WriteString(",\n")
		}
		first = false
		fmt.Fprintf(&b, "  %q: [", key)
		for i := 0; i < n; i++ {
			data, err := json.Marshal(item(i))
			if err != nil {
				return fmt.Errorf("outliers: %s[%d]: %w", key, i, err)
			}
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n    ")
			b.Write(data)
		}
		if n > 0 {
			b.WriteString("\n  ")
		}
		b.WriteString("]")
		return nil
	}
	b.WriteString("{\n")
	for _, f := range []struct {
		k string
		v any
	}{
		{"format", fileFormat}, {"version", fileVersion}, {"source", src},
		{"sigma", r.Sigma}, {"num_layers", r.NumLayers}, {"layer_size", r.LayerSize}, {"hidden_size", r.HiddenSize},
		{"total", r.Total}, {"count", r.Count}, {"fraction", r.Fraction}, {"normal_fraction", r.NormalFraction},
	} {
		if err := field(f.k, f.v); err != nil {
			return err
		}
	}
	if err := list("tensors", len(r.Tensors), func(i int) any { return r.Tensors[i] }); err != nil {
		return err
	}
	if err := list("dims", len(r.Dims), func(i int) any { return r.Dims[i] }); err != nil {
		return err
	}
	if err := list("layers", len(r.Layers), func(i int) any { return r.Layers[i] }); err != nil {
		return err
	}
	b.WriteString("\n}\n")
	return atomicfile.WriteFile(path, func(w io.Writer) error {
		_, err := w.Write(b.Bytes())
		return err
	})
}

// Path is the file f was read from.
func (f *File) Path() string { return f.path }

// ReadFile reads what WriteFile wrote. path may also be a directory that
// holds FileName.
func ReadFile(path string) (*File, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, FileName)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("outliers: %w", err)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("outliers: %s: %w", path, err)
	}
	if f.Format != fileFormat {
		return nil, fmt.Errorf("outliers: %s is not an outliers file (format %q; `subtune outliers` writes one)", path, f.Format)
	}
	if f.Version != fileVersion {
		return nil, fmt.Errorf("outliers: %s: outliers file version %d, this subtune reads %d", path, f.Version, fileVersion)
	}
	if len(f.Layers) != f.NumLayers {
		return nil, fmt.Errorf("outliers: %s: %d layers listed, num_layers says %d", path, len(f.Layers), f.NumLayers)
	}
	f.path = path
	return &f, nil
}

// Positions returns the outliers' positions per layer, checked.
func (f *File) Positions() (Positions, error) {
	p := f.Result.Positions()
	if err := p.Validate(); err != nil {
		return Positions{}, fmt.Errorf("outliers: %s: %w", f.path, err)
	}
	if n := p.Count(); n != f.Count {
		return Positions{}, fmt.Errorf("outliers: %s: %d distinct positions listed, but count says %d", f.path, n, f.Count)
	}
	return p, nil
}
