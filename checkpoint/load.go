package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/torchbin"
)

// Options tunes Load.
type Options struct {
	// Labels, when set, replaces the config's id2label (a fine-tuning run
	// sets its task's labels; one label means regression).
	Labels []string
	// Seed initialises tensors the checkpoint lacks (a new classifier).
	Seed uint64
	// ConfigOverride, when set, edits the config before the model is built
	// (e.g. to turn dropout off).
	ConfigOverride func(*model.Config)
	// Usage is what the caller will allocate beside the model (workspace,
	// optimiser); Load refuses a config for which it would not fit.
	Usage model.Usage
}

// Report says what Load did beyond the obvious, in transformers' words.
type Report struct {
	Warnings   []string // config keys ignored and the like
	Missing    []string // model tensors not in the checkpoint, newly initialised
	Unexpected []string // checkpoint tensors the model does not use
}

// String renders the report as transformers logs it.
func (r Report) String() string {
	var b strings.Builder
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

// Load reads the model folder dir into a model with the given head. The
// weights are the first of model.safetensors, model.safetensors.index.json,
// pytorch_model.bin and pytorch_model.bin.index.json the folder holds, as
// in transformers.
func Load(dir string, head model.Head, opts Options) (*model.Model, Report, error) {
	var rep Report
	st, err := os.Stat(dir)
	if err != nil {
		return nil, rep, fmt.Errorf("model folder %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, rep, fmt.Errorf("model folder %s is not a directory", dir)
	}
	cfg, warnings, err := model.ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, rep, err
	}
	rep.Warnings = warnings
	if opts.Labels != nil {
		cfg.SetLabels(opts.Labels)
	}
	if opts.ConfigOverride != nil {
		opts.ConfigOverride(&cfg)
	}
	err = cfg.CheckMemory(head, opts.Usage, 0)
	var m *model.Model
	if err == nil {
		m, err = model.New(cfg, head)
	}
	if err != nil {
		return nil, rep, fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
	}
	files, err := WeightFiles(dir)
	if err != nil {
		return nil, rep, err
	}
	loaded := map[string]bool{}
	for _, path := range files {
		if err := loadFile(m, path, loaded, &rep); err != nil {
			return nil, rep, err
		}
	}
	if err := checkBaseLoaded(dir, m, loaded, rep.Unexpected); err != nil {
		return nil, rep, err
	}
	for _, t := range m.Tensors {
		if !loaded[t.Name] {
			rep.Missing = append(rep.Missing, t.Name)
			m.InitTensor(t.Name, opts.Seed)
		}
	}
	sort.Strings(rep.Unexpected)
	arch := Architecture(m)
	if len(rep.Unexpected) > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("Some weights of the model checkpoint at %s were not used when initializing %s: %s", dir, arch, pyList(rep.Unexpected)))
	}
	if len(rep.Missing) > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("Some weights of %s were not initialized from the model checkpoint at %s and are newly initialized: %s\nYou should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.", arch, dir, pyList(rep.Missing)))
	}
	return m, rep, nil
}

// checkBaseLoaded refuses a folder whose weights hold no tensor of the
// base model (<model_type>.*): whatever file sits there (a subspace, say),
// a model made of initial values alone would run and predict garbage.
// Missing heads are normal (a new classifier); a missing base is not.
func checkBaseLoaded(dir string, m *model.Model, loaded map[string]bool, unexpected []string) error {
	prefix := m.Config.ModelType + "."
	for name := range loaded {
		if strings.HasPrefix(name, prefix) {
			return nil
		}
	}
	held := slices.AppendSeq(slices.Clone(unexpected), maps.Keys(loaded))
	found := "no tensors at all"
	if len(held) > 0 {
		shown := slices.Sorted(slices.Values(held))
		if len(shown) > 4 {
			shown = append(shown[:4], "…")
		}
		found = "only " + strings.Join(shown, ", ")
	}
	return fmt.Errorf("model folder %s: no tensor of the %s base model (%s*) is in its weights, which hold %s: it is not a checkpoint of a %s model", dir, m.Config.ModelType, prefix, found, m.Config.ModelType)
}

// pyList renders names as transformers' log lines do: a sorted Python list,
// ['a', 'b'].
func pyList(names []string) string {
	sorted := slices.Sorted(slices.Values(names))
	for i, n := range sorted {
		sorted[i] = "'" + n + "'"
	}
	return "[" + strings.Join(sorted, ", ") + "]"
}

// WeightFiles lists the weight files of a folder, in transformers' order
// of preference: model.safetensors, the shards of
// model.safetensors.index.json, pytorch_model.bin, the shards of
// pytorch_model.bin.index.json.
func WeightFiles(dir string) ([]string, error) {
	if files, err := findWeights(dir, "model.safetensors"); !errors.Is(err, fs.ErrNotExist) {
		return files, err
	}
	if files, err := findWeights(dir, "pytorch_model.bin"); !errors.Is(err, fs.ErrNotExist) {
		return files, err
	}
	for _, other := range []string{"tf_model.h5", "flax_model.msgpack"} {
		if _, err := os.Stat(filepath.Join(dir, other)); err == nil {
			return nil, fmt.Errorf("%s holds only %s; subtune reads safetensors and PyTorch weights. Convert it once with Python: "+
				"`python -c \"from transformers import AutoModel; AutoModel.from_pretrained('%s').save_pretrained('%s', safe_serialization=True)\"` "+
				"(or use the model's model.safetensors from the hub)", dir, other, dir, dir)
		}
	}
	return nil, fmt.Errorf("%s has no model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json", dir)
}

// findWeights returns dir/single if it exists, else the shards its index
// (single + ".index.json") names; an error wrapping fs.ErrNotExist if
// there is neither.
func findWeights(dir, single string) ([]string, error) {
	path := filepath.Join(dir, single)
	if _, err := os.Stat(path); err == nil {
		return []string{path}, nil
	}
	return indexShards(path + ".index.json")
}

// indexShards lists the shard files a sharded checkpoint's index names,
// as paths beside it; an error wrapping fs.ErrNotExist if there is no index.
func indexShards(indexPath string) ([]string, error) {
	data, err := os.ReadFile(indexPath)
	if err != nil {
		return nil, err
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &index); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", indexPath, err)
	}
	if len(index.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: weight_map is empty", indexPath)
	}
	var shards []string
	for name, f := range index.WeightMap {
		if f == "" || filepath.Base(f) != f {
			return nil, fmt.Errorf("%s: tensor %s maps to invalid shard name %q", indexPath, name, f)
		}
		if !slices.Contains(shards, f) {
			shards = append(shards, f)
		}
	}
	sort.Strings(shards)
	for i, s := range shards {
		shards[i] = filepath.Join(filepath.Dir(indexPath), s)
	}
	return shards, nil
}

// canonicalName maps a checkpoint tensor name to subtune's: legacy
// LayerNorm gamma/beta become weight/bias, and names saved without the
// base-model prefix (a bare BertModel) gain it.
func canonicalName(name, prefix string) string {
	name = strings.Replace(name, "LayerNorm.gamma", "LayerNorm.weight", 1)
	name = strings.Replace(name, "LayerNorm.beta", "LayerNorm.bias", 1)
	for _, part := range []string{"embeddings.", "encoder.", "pooler."} {
		if strings.HasPrefix(name, part) {
			return prefix + "." + name
		}
	}
	return name
}

// tiedNames are checkpoint tensors that are views of other parameters in
// transformers; they carry nothing of their own.
var tiedNames = map[string]string{
	"cls.predictions.decoder.weight": "embeddings.word_embeddings.weight",
	"cls.predictions.decoder.bias":   "cls.predictions.bias",
	"lm_head.decoder.weight":         "embeddings.word_embeddings.weight",
	"lm_head.decoder.bias":           "lm_head.bias",
}

func loadFile(m *model.Model, path string, loaded map[string]bool, rep *Report) error {
	f, err := openWeights(path)
	if err != nil {
		return err
	}
	defer f.Close()
	prefix := m.Config.ModelType
	for _, name := range f.Names() {
		canon := canonicalName(name, prefix)
		t, ok := m.TensorInfo(canon)
		if !ok {
			if _, tied := tiedNames[canon]; tied {
				continue
			}
			// Buffers of the embeddings that older transformers saved;
			// transformers drops buffers from the unexpected keys.
			if canon == prefix+".embeddings.position_ids" || canon == prefix+".embeddings.token_type_ids" {
				continue
			}
			rep.Unexpected = append(rep.Unexpected, name)
			continue
		}
		if shape := f.shape(name); !slices.Equal(shape, t.Shape) {
			return fmt.Errorf("%s: tensor %s has shape %v but the config implies %v", path, name, shape, t.Shape)
		}
		if loaded[canon] {
			return fmt.Errorf("%s: tensor %s appears twice (also as another name for %s)", path, name, canon)
		}
		if err := f.read(name, m.Data[t.Offset:t.Offset+t.Size]); err != nil {
			return err
		}
		loaded[canon] = true
	}
	// A checkpoint that stores only the decoder bias under its tied name
	// still provides the prediction bias.
	for _, name := range f.Names() {
		canon := canonicalName(name, prefix)
		if target, ok := tiedNames[canon]; ok && strings.HasSuffix(target, "bias") && !loaded[target] {
			if t, ok := m.TensorInfo(target); ok {
				if err := f.read(name, m.Data[t.Offset:t.Offset+t.Size]); err != nil {
					return err
				}
				loaded[target] = true
			}
		}
	}
	return nil
}

// weights is an open weight file, safetensors or PyTorch.
type weights interface {
	Names() []string
	Close() error
	shape(name string) []int
	// read reads a float tensor into dst and refuses NaN and infinity.
	read(name string, dst []float32) error
}

func openWeights(path string) (weights, error) {
	if strings.HasSuffix(path, ".safetensors") {
		f, err := safetensors.Open(path)
		return safetensorsWeights{f}, err
	}
	f, err := torchbin.Open(path)
	return torchWeights{f, path}, err
}

type safetensorsWeights struct{ *safetensors.File }

func (w safetensorsWeights) shape(name string) []int {
	info, _ := w.Info(name)
	return info.Shape
}

func (w safetensorsWeights) read(name string, dst []float32) error {
	if err := w.ReadFloat32Into(name, dst); err != nil {
		return err
	}
	return w.CheckFinite(name)
}

type torchWeights struct {
	*torchbin.File
	path string
}

func (w torchWeights) shape(name string) []int {
	info, _ := w.Info(name)
	return info.Shape
}

func (w torchWeights) read(name string, dst []float32) error {
	if err := w.ReadFloat32Into(name, dst); err != nil {
		return err
	}
	for i, v := range dst {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%s: tensor %q: element %d is %v: %w", w.path, name, i, v, safetensors.ErrNonFinite)
		}
	}
	return nil
}

// Architecture is the transformers class name of a model.
func Architecture(m *model.Model) string {
	base := "Bert"
	if m.Config.ModelType == "roberta" {
		base = "Roberta"
	}
	switch m.Head {
	case model.SequenceClassification:
		return base + "ForSequenceClassification"
	case model.MaskedLM:
		return base + "ForMaskedLM"
	case model.PreTraining:
		return base + "ForPreTraining"
	}
	return base + "Model"
}

// TokenizerFiles are the files a HuggingFace model folder may hold its
// tokenizer in; each is optional.
var TokenizerFiles = []string{
	"tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "merges.txt", "special_tokens_map.json",
}
