package checkpoint

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/torchbin"
)

// TestConvertRoundTrip converts each PyTorch fixture: every tensor keeps
// its name, dtype, shape and bytes, the result loads as an ordinary folder,
// and its logits equal those of the .bin folder bit for bit.
func TestConvertRoundTrip(t *testing.T) {
	e := readTorchExpected(t)
	for _, name := range []string{"zip", "legacy", "strided", "sharded", "f16", "bf16"} {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(torchDir, name)
			dst := t.TempDir()
			res, err := Convert(context.Background(), src, dst)
			must(t, err)
			if res.Weights != filepath.Join(dst, "model.safetensors") || !slices.Equal(res.Copied, []string{"config.json"}) {
				t.Errorf("result %+v", res)
			}
			files, err := WeightFiles(src)
			must(t, err)
			out, err := safetensors.Open(res.Weights)
			must(t, err)
			defer out.Close()
			if meta := out.Metadata(); meta["format"] != "pt" {
				t.Errorf("metadata %v", meta)
			}
			var names []string
			for _, p := range files {
				f, err := torchbin.Open(p)
				must(t, err)
				for _, n := range f.Names() {
					names = append(names, n)
					want, _ := f.Info(n)
					got, ok := out.Info(n)
					if !ok || got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) {
						t.Fatalf("%s: %+v, want %+v", n, got, want)
					}
					a, err := f.Raw(n)
					must(t, err)
					b, err := out.Raw(n)
					must(t, err)
					if !bytes.Equal(a, b) {
						t.Fatalf("%s: bytes differ", n)
					}
				}
				f.Close()
			}
			if slices.Sort(names); !slices.Equal(out.Names(), names) || res.Tensors != len(names) {
				t.Errorf("converted %d tensors %q, want %q", res.Tensors, out.Names(), names)
			}
			got, rep := logitsOf(t, dst, e)
			if len(rep.Missing) > 0 || len(rep.Unexpected) > 0 {
				t.Errorf("missing %v, unexpected %v", rep.Missing, rep.Unexpected)
			}
			want, _ := logitsOf(t, src, e)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("logit %d = %v after conversion, %v before", i, got[i], want[i])
				}
			}
		})
	}
}

func TestConvertCopiesTokenizer(t *testing.T) {
	src := t.TempDir()
	for _, f := range []string{"config.json", "pytorch_model.bin"} {
		copyTestFile(t, filepath.Join(torchDir, "zip", f), filepath.Join(src, f))
	}
	must(t, os.WriteFile(filepath.Join(src, "vocab.txt"), []byte("[PAD]\n[UNK]\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "tokenizer_config.json"), []byte(`{"do_lower_case": true}`), 0o644))
	dst := filepath.Join(t.TempDir(), "out")
	res, err := Convert(context.Background(), src, dst)
	must(t, err)
	if !slices.Equal(res.Copied, []string{"config.json", "tokenizer_config.json", "vocab.txt"}) {
		t.Errorf("copied %q", res.Copied)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "vocab.txt")); string(b) != "[PAD]\n[UNK]\n" {
		t.Errorf("vocab.txt %q", b)
	}
	// Converting in place adds model.safetensors, which Load then prefers.
	if _, err := Convert(context.Background(), src, src); err != nil {
		t.Fatal(err)
	}
	files, err := WeightFiles(src)
	must(t, err)
	if !slices.Equal(files, []string{filepath.Join(src, "model.safetensors")}) {
		t.Errorf("weights %q", files)
	}
}

func TestConvertErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("no PyTorch weights", func(t *testing.T) {
		src := filepath.Join(torchDir, "safetensors-f32")
		_, err := Convert(ctx, src, t.TempDir())
		wantInError(t, err, src, "no pytorch_model.bin or pytorch_model.bin.index.json")
	})
	t.Run("no config", func(t *testing.T) {
		src := t.TempDir()
		copyTestFile(t, filepath.Join(torchDir, "zip", "pytorch_model.bin"), filepath.Join(src, "pytorch_model.bin"))
		_, err := Convert(ctx, src, t.TempDir())
		wantInError(t, err, filepath.Join(src, "config.json"))
	})
	t.Run("hostile", func(t *testing.T) {
		dst := t.TempDir()
		_, err := Convert(ctx, filepath.Join(torchDir, "hostile"), dst)
		wantInError(t, err, "posix.system")
		if entries, _ := os.ReadDir(dst); len(entries) != 0 {
			t.Errorf("wrote %d files", len(entries))
		}
	})
	t.Run("tensor in two shards", func(t *testing.T) {
		src := t.TempDir()
		copyTestFile(t, filepath.Join(torchDir, "zip", "config.json"), filepath.Join(src, "config.json"))
		copyTestFile(t, filepath.Join(torchDir, "zip", "pytorch_model.bin"), filepath.Join(src, "a.bin"))
		copyTestFile(t, filepath.Join(torchDir, "zip", "pytorch_model.bin"), filepath.Join(src, "b.bin"))
		must(t, os.WriteFile(filepath.Join(src, "pytorch_model.bin.index.json"),
			[]byte(`{"weight_map": {"classifier.bias": "a.bin", "classifier.weight": "b.bin"}}`), 0o644))
		_, err := Convert(ctx, src, t.TempDir())
		wantInError(t, err, "is in both", "a.bin", "b.bin")
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		dst := t.TempDir()
		_, err := Convert(ctx, filepath.Join(torchDir, "zip"), dst)
		wantInError(t, err, "context canceled")
		if entries, _ := os.ReadDir(dst); len(entries) != 0 {
			t.Errorf("wrote %d files", len(entries))
		}
	})
}
