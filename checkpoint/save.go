package checkpoint

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

// Save writes m into dir as save_pretrained does: config.json (with the
// architecture) and model.safetensors with __metadata__ {"format": "pt"}.
// dtype is the storage type of the weights: F32 (the default), F16 or BF16.
func Save(dir string, m *model.Model, dtype safetensors.DType) error {
	if dtype == "" {
		dtype = safetensors.F32
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg := m.Config
	cfg.Architectures = []string{Architecture(m)}
	data, err := cfg.JSON()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "config.json"), func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}); err != nil {
		return err
	}
	tensors := map[string]safetensors.Tensor{}
	for _, t := range m.Tensors {
		tensors[t.Name] = safetensors.Tensor{DType: dtype, Shape: t.Shape, F32: m.Data[t.Offset : t.Offset+t.Size]}
	}
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), tensors, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("saving %s: %w", dir, err)
	}
	return nil
}
