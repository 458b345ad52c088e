package adapter

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
)

// Tensor name prefixes in WeightsFile: PEFT's for the modules trained in
// full space, and one of subtune's own for the subspace coordinates
// (subspace.Reparam.Tensors' names: "layer.3.z").
const (
	modulePrefix = "base_model.model."
	coordPrefix  = "subspace."
)

// Base says which base model a run fine-tuned, as it was given.
type Base struct {
	NameOrPath string // hub id, or local folder
	Revision   string // hub revision asked for; "" for none
	Task       string // the task's name, if any
}

// Write writes the adapter of a subspace run into dir: the model m as
// trained, with the re-parameterisation r that trained it, on the base
// model base. It returns the size of WeightsFile in bytes.
func Write(dir string, m *model.Model, r *subspace.Reparam, base Base) (int64, error) {
	if r == nil {
		return 0, errors.New("adapter: the encoder was frozen, not trained in a subspace: there is no adapter to write")
	}
	c, err := newConfig(m, r, base)
	if err != nil {
		return 0, err
	}
	ts := map[string]safetensors.Tensor{}
	for name, t := range r.Tensors() {
		ts[coordPrefix+name] = t
	}
	for _, t := range fullSpace(m, r) {
		ts[modulePrefix+t.Name] = safetensors.Tensor{DType: safetensors.F32, Shape: t.Shape, F32: m.Data[t.Offset : t.Offset+t.Size]}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	path := filepath.Join(dir, WeightsFile)
	if err := safetensors.Write(path, ts, map[string]string{"format": "pt"}); err != nil {
		return 0, fmt.Errorf("adapter: %w", err)
	}
	// The config last: a folder with a config always has its weights.
	if err := c.write(dir); err != nil {
		return 0, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func newConfig(m *model.Model, r *subspace.Reparam, base Base) (*Config, error) {
	coords, err := r.Coordinates()
	if err != nil {
		return nil, err
	}
	if coords.Kind == subspace.KindIntrinsic {
		// A path relative to where the run was started means nothing
		// elsewhere.
		if coords.Basis, err = filepath.Abs(coords.Basis); err != nil {
			return nil, err
		}
	}
	name := base.NameOrPath
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		if name, err = filepath.Abs(name); err != nil {
			return nil, err
		}
	}
	c := &Config{PeftType: PeftType, TaskType: TaskType, Version: Version, BaseModelNameOrPath: name,
		BaseModelTheta0SHA256: r.Theta0SHA256(), InferenceMode: true,
		TargetModules: []string{m.Config.ModelType + ".encoder.layer"},
		TaskName:      base.Task, Labels: labels(m.Config), Subspace: coords}
	if base.Revision != "" {
		c.Revision = &base.Revision
	}
	for _, t := range fullSpace(m, r) {
		if mod := moduleOf(t.Name, m.Config.ModelType); !slices.Contains(c.ModulesToSave, mod) {
			c.ModulesToSave = append(c.ModulesToSave, mod)
		}
	}
	return c, nil
}

// fullSpace lists the tensors r trains in full space.
func fullSpace(m *model.Model, r *subspace.Reparam) []model.Tensor {
	var ts []model.Tensor
	for _, t := range m.Tensors {
		if r.Trainable(t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// moduleOf names the module a tensor belongs to as modules_to_save does:
// "bert.embeddings", "bert.pooler", "classifier".
func moduleOf(tensor, modelType string) string {
	parts := strings.Split(tensor, ".")
	if parts[0] == modelType && len(parts) > 2 {
		return parts[0] + "." + parts[1]
	}
	return parts[0]
}

func labels(c model.Config) []string {
	out := make([]string, c.NumLabels())
	for i := range out {
		if out[i] = c.ID2Label[i]; out[i] == "" {
			out[i] = fmt.Sprintf("LABEL_%d", i) // transformers' default
		}
	}
	return out
}
