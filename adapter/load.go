package adapter

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
	"github.com/subtune/subtune/trajectory"
)

// Options tune Load.
type Options struct {
	// Basis is the basis file of an intrinsic subspace, when it is no
	// longer where the adapter's config says (its SHA-256 must still match).
	Basis string
	// Checkpoint is passed to checkpoint.Load for the base; its Labels are
	// replaced by the adapter's.
	Checkpoint checkpoint.Options
}

// Load applies the adapter in dir to the base model in the folder baseDir
// and returns the resulting classifier, θ0 + Vᵀz̄ in the encoder and the
// adapter's full-space modules, with the adapter's config.
func Load(dir, baseDir string, o Options) (*model.Model, *Config, error) {
	c, err := ReadConfig(dir)
	if err != nil {
		return nil, nil, err
	}
	co := o.Checkpoint
	co.Labels = c.Labels
	m, _, err := checkpoint.Load(baseDir, model.SequenceClassification, co)
	if err != nil {
		return nil, nil, err
	}
	if got := trajectory.HashLayers(m); got != c.BaseModelTheta0SHA256 {
		return nil, nil, fmt.Errorf("adapter %s was trained on base model %s, whose encoder θ0 has SHA-256 %s; the base model %s has %s (a different model or revision)",
			dir, c.BaseModelNameOrPath, c.BaseModelTheta0SHA256, baseDir, got)
	}
	b, err := subspace.RebuildBasis(c.Subspace, o.Basis, m)
	if err != nil {
		return nil, nil, fmt.Errorf("adapter %s: %w", dir, err)
	}
	r, err := subspace.New(m, b, c.Subspace.Options())
	if err != nil {
		return nil, nil, fmt.Errorf("adapter %s: %w", dir, err)
	}
	if err := readWeights(filepath.Join(dir, WeightsFile), m, r, c); err != nil {
		return nil, nil, err
	}
	r.Materialize(m)
	return m, c, nil
}

// readWeights reads the coordinates into r and the full-space modules
// into m. Every tensor of the modules the config lists must be there, and
// nothing else.
func readWeights(path string, m *model.Model, r *subspace.Reparam, c *Config) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return fmt.Errorf("adapter: %w", err)
	}
	defer f.Close()
	seen := map[string]bool{}
	err = r.SetTensors(func(name string, dst []float32) error {
		seen[coordPrefix+name] = true
		return f.ReadFloat32Into(coordPrefix+name, dst)
	})
	if err != nil {
		return fmt.Errorf("adapter: %s: %w", path, err)
	}
	for _, t := range m.Tensors {
		if subspace.IsEncoderTensor(t.Name) || !slices.Contains(c.ModulesToSave, moduleOf(t.Name, m.Config.ModelType)) {
			continue
		}
		name := modulePrefix + t.Name
		seen[name] = true
		if info, ok := f.Info(name); ok && !slices.Equal(info.Shape, t.Shape) {
			return fmt.Errorf("adapter: %s: tensor %s has shape %v, the model's %v", path, name, info.Shape, t.Shape)
		}
		if err := f.ReadFloat32Into(name, m.Data[t.Offset:t.Offset+t.Size]); err != nil {
			return fmt.Errorf("adapter: %w", err)
		}
	}
	m.ParamsChanged()
	for _, name := range f.Names() {
		if !seen[name] {
			return fmt.Errorf("adapter: %s: tensor %s is neither a subspace coordinate nor part of modules_to_save %s",
				path, name, strings.Join(c.ModulesToSave, ", "))
		}
	}
	return nil
}
