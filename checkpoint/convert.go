package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/torchbin"
)

// Converted says what Convert wrote.
type Converted struct {
	Weights string   // the model.safetensors written
	Tensors int      // tensors in it
	Bytes   int64    // its tensor data
	SHA256  string   // of the whole file
	Copied  []string // config and tokenizer files copied beside it
}

// Convert writes the PyTorch weights of the model folder src
// (pytorch_model.bin, or the shards of pytorch_model.bin.index.json) to
// dst/model.safetensors, with metadata {"format": "pt"}, and copies
// config.json and the tokenizer files beside it, so that dst is an
// ordinary HuggingFace folder. Every tensor keeps its name, dtype and
// shape, classifier heads and legacy names included (the loader maps
// those, as transformers does); strided tensors are written contiguous and
// tensors sharing storage (tied weights) are written once per name. Each
// file is written atomically; the weights are streamed one tensor at a
// time and written last.
func Convert(ctx context.Context, src, dst string) (Converted, error) {
	var c Converted
	bins, err := findWeights(src, "pytorch_model.bin")
	if errors.Is(err, fs.ErrNotExist) {
		return c, fmt.Errorf("%s has no pytorch_model.bin or pytorch_model.bin.index.json to convert", src)
	}
	if err != nil {
		return c, err
	}
	if _, err := os.Stat(filepath.Join(src, "config.json")); err != nil {
		return c, fmt.Errorf("model folder %s: %w", src, err)
	}
	files, owner, err := openShards(bins)
	if err != nil {
		return c, err
	}
	defer closeAll(files)
	if err := ctx.Err(); err != nil {
		return c, err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return c, err
	}
	if c.Copied, err = copyModelFiles(src, dst); err != nil {
		return c, err
	}
	c.Weights = filepath.Join(dst, "model.safetensors")
	c.Tensors, c.Bytes, c.SHA256, err = writeSafetensors(ctx, c.Weights, owner)
	return c, err
}

// openShards opens the PyTorch files and maps each tensor name to the file
// holding it; a name in two shards is an error.
func openShards(paths []string) ([]*torchbin.File, map[string]*torchbin.File, error) {
	var files []*torchbin.File
	owner := map[string]*torchbin.File{}
	where := map[string]string{}
	for _, p := range paths {
		f, err := torchbin.Open(p)
		if err != nil {
			closeAll(files)
			return nil, nil, err
		}
		files = append(files, f)
		for _, name := range f.Names() {
			if prev, ok := where[name]; ok {
				closeAll(files)
				return nil, nil, fmt.Errorf("tensor %s is in both %s and %s", name, prev, p)
			}
			owner[name], where[name] = f, p
		}
	}
	return files, owner, nil
}

func closeAll(files []*torchbin.File) {
	for _, f := range files {
		f.Close()
	}
}

// writeSafetensors streams the tensors of owner into path in the
// safetensors writer's order.
func writeSafetensors(ctx context.Context, path string, owner map[string]*torchbin.File) (n int, size int64, sha string, err error) {
	specs := make([]safetensors.TensorSpec, 0, len(owner))
	for name, f := range owner {
		info, _ := f.Info(name)
		specs = append(specs, safetensors.TensorSpec{Name: name, DType: info.DType, Shape: info.Shape})
	}
	w, err := safetensors.NewWriter(path, specs, map[string]string{"format": "pt"})
	if err != nil {
		return 0, 0, "", err
	}
	defer w.Abort()
	for _, name := range w.Order() {
		if err := ctx.Err(); err != nil {
			return 0, 0, "", err
		}
		raw, err := owner[name].Raw(name)
		if err != nil {
			return 0, 0, "", err
		}
		if err := w.WriteRaw(name, raw); err != nil {
			return 0, 0, "", err
		}
		size += int64(len(raw))
	}
	sha, err = w.Close()
	return len(specs), size, sha, err
}

// copyModelFiles copies config.json and the tokenizer files src has into
// dst, unless both are the same folder.
func copyModelFiles(src, dst string) ([]string, error) {
	var copied []string
	for _, name := range append([]string{"config.json"}, TokenizerFiles...) {
		from, to := filepath.Join(src, name), filepath.Join(dst, name)
		in, err := os.Open(from)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return copied, err
		}
		err = copyInto(in, to)
		in.Close()
		if err != nil {
			return copied, err
		}
		copied = append(copied, name)
	}
	return copied, nil
}

// copyInto atomically writes in's contents to path, unless path is in's
// own file.
func copyInto(in *os.File, path string) error {
	if a, err := in.Stat(); err == nil {
		if b, err := os.Stat(path); err == nil && os.SameFile(a, b) {
			return nil
		}
	}
	return atomicfile.WriteFile(path, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}
