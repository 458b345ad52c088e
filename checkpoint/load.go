package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
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

// Load reads the model folder dir into a model with the given head.
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
	files, err := weightFiles(dir)
	if err != nil {
		return nil, rep, err
	}
	loaded := map[string]bool{}
	for _, path := range files {
		if err := loadFile(m, path, loaded, &rep); err != nil {
			return nil, rep, err
		}
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

// pyList renders names as transformers' log lines do: a sorted Python list,
// ['a', 'b'].
func pyList(names []string) string {
	sorted := slices.Sorted(slices.Values(names))
	for i, n := range sorted {
		sorted[i] = "'" + n + "'"
	}
	return "[" + strings.Join(sorted, ", ") + "]"
}

// weightFiles lists the safetensors files of a folder: one file, or the
// shards named by the index.
func weightFiles(dir string) ([]string, error) {
	single := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(single); err == nil {
		return []string{single}, nil
	}
	indexPath := filepath.Join(dir, "model.safetensors.index.json")
	if data, err := os.ReadFile(indexPath); err == nil {
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
			shards[i] = filepath.Join(dir, s)
		}
		return shards, nil
	}
	for _, legacy := range []string{"pytorch_model.bin", "tf_model.h5", "flax_model.msgpack"} {
		if _, err := os.Stat(filepath.Join(dir, legacy)); err == nil {
			if legacy == "pytorch_model.bin" {
				return nil, fmt.Errorf("%s holds only %s; subtune reads safetensors. Convert it once with Python: %s",
					dir, legacy, convertCommand(filepath.Join(dir, legacy), filepath.Join(dir, "model.safetensors")))
			}
			return nil, fmt.Errorf("%s holds only %s; subtune reads safetensors. Convert it once with Python: "+
				"`python -c \"from transformers import AutoModel; AutoModel.from_pretrained('%s').save_pretrained('%s', safe_serialization=True)\"` "+
				"(or use the model's model.safetensors from the hub)", dir, legacy, dir, dir)
		}
	}
	return nil, fmt.Errorf("%s has no model.safetensors or model.safetensors.index.json", dir)
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
	f, err := safetensors.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	prefix := m.Config.ModelType
	for _, name := range f.Names() {
		canon := canonicalName(name, prefix)
		info, _ := f.Info(name)
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
		if !slices.Equal(info.Shape, t.Shape) {
			return fmt.Errorf("%s: tensor %s has shape %v but the config implies %v", path, name, info.Shape, t.Shape)
		}
		if loaded[canon] {
			return fmt.Errorf("%s: tensor %s appears twice (also as another name for %s)", path, name, canon)
		}
		if err := f.ReadFloat32Into(name, m.Data[t.Offset:t.Offset+t.Size]); err != nil {
			return err
		}
		if err := f.CheckFinite(name); err != nil {
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
				if err := f.ReadFloat32Into(name, m.Data[t.Offset:t.Offset+t.Size]); err != nil {
					return err
				}
				if err := f.CheckFinite(name); err != nil {
					return err
				}
				loaded[target] = true
			}
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

// ErrNoModel reports a model name that is neither a folder nor fetchable.
var ErrNoModel = errors.New("no such model")
