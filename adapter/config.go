package adapter

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/subspace"
)

// The adapter's files, as PEFT names them.
const (
	ConfigFile  = "adapter_config.json"
	WeightsFile = "adapter_model.safetensors"
)

// PeftType is the adapter's peft_type: a custom value, since PEFT has no
// subspace method.
const PeftType = "SUBSPACE"

// TaskType is PEFT's task type of a sequence classifier.
const TaskType = "SEQ_CLS"

// Version is the version of the adapter format this package writes.
const Version = 1

// Config is adapter_config.json.
type Config struct {
	PeftType string `json:"peft_type"`
	TaskType string `json:"task_type"`
	Version  int    `json:"subspace_adapter_version"`
	// BaseModelNameOrPath is the base model as the run was given it: a hub
	// id, or a local folder (made absolute). Revision is the hub revision
	// asked for, nil when none was.
	BaseModelNameOrPath string  `json:"base_model_name_or_path"`
	Revision            *string `json:"revision"`
	// BaseModelTheta0SHA256 identifies the base model's encoder, which the
	// subspace update is added to (trajectory.HashLayers).
	BaseModelTheta0SHA256 string `json:"base_model_theta0_sha256"`
	InferenceMode         bool   `json:"inference_mode"`
	// TargetModules are the modules re-parameterised in the subspace;
	// ModulesToSave those trained in full space and stored whole.
	TargetModules []string `json:"target_modules"`
	ModulesToSave []string `json:"modules_to_save"`
	TaskName      string   `json:"task_name,omitempty"`
	// Labels are the classifier's id2label in id order (one label: a
	// regressor).
	Labels   []string              `json:"labels"`
	Subspace *subspace.Coordinates `json:"subspace"`
}

// ReadConfig reads dir/ConfigFile, refusing anything but a subspace
// adapter this package can read.
func ReadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, ConfigFile)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is not an adapter folder: %w", dir, err)
		}
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

func (c *Config) check() error {
	switch {
	case c.PeftType != PeftType:
		return fmt.Errorf("peft_type %q: subtune reads %q adapters (those its subspace runs write)", c.PeftType, PeftType)
	case c.Version != Version:
		return fmt.Errorf("subspace_adapter_version %d: this subtune reads %d", c.Version, Version)
	case c.TaskType != TaskType:
		return fmt.Errorf("task_type %q: want %q", c.TaskType, TaskType)
	case c.BaseModelNameOrPath == "":
		return errors.New("base_model_name_or_path is empty")
	case c.BaseModelTheta0SHA256 == "":
		return errors.New("base_model_theta0_sha256 is empty")
	case len(c.Labels) == 0:
		return errors.New("labels is empty")
	case c.Subspace == nil:
		return errors.New("subspace is missing")
	case c.Subspace.Ensemble < 1 || len(c.Subspace.Dims) == 0:
		return fmt.Errorf("subspace: h %d, d %v: want h ≥ 1 and a d per block", c.Subspace.Ensemble, c.Subspace.Dims)
	}
	return nil
}

func (c *Config) write(dir string) error {
	return atomicfile.WriteJSON(filepath.Join(dir, ConfigFile), c)
}
