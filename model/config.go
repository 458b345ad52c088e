package model

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/subtune/subtune/internal/argcheck"
	"github.com/subtune/subtune/nn"
)

// Config is a BERT or RoBERTa config.json, with HuggingFace's key names and
// defaults.
type Config struct {
	ModelType             string  // "bert" or "roberta"
	VocabSize             int     // vocab_size
	HiddenSize            int     // hidden_size
	NumHiddenLayers       int     // num_hidden_layers
	NumAttentionHeads     int     // num_attention_heads
	IntermediateSize      int     // intermediate_size
	HiddenAct             string  // hidden_act
	HiddenDropoutProb     float64 // hidden_dropout_prob
	AttentionDropoutProb  float64 // attention_probs_dropout_prob
	ClassifierDropout     *float64
	MaxPositionEmbeddings int     // max_position_embeddings
	TypeVocabSize         int     // type_vocab_size
	InitializerRange      float64 // initializer_range
	LayerNormEps          float64 // layer_norm_eps
	PadTokenID            int     // pad_token_id
	ID2Label              map[int]string
	ProblemType           string // "regression", "single_label_classification" or ""
	Architectures         []string

	// Extra keeps every other key of config.json so that writing the config
	// back loses nothing.
	Extra map[string]json.RawMessage
}

// Keys subtune reads; any other key goes to Extra, with a warning unless it
// is one transformers itself writes.
var requiredKeys = []string{"model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "max_position_embeddings"}

var knownKeys = map[string]bool{
	"model_type": true, "vocab_size": true, "hidden_size": true, "num_hidden_layers": true,
	"num_attention_heads": true, "intermediate_size": true, "hidden_act": true,
	"hidden_dropout_prob": true, "attention_probs_dropout_prob": true, "classifier_dropout": true,
	"max_position_embeddings": true, "type_vocab_size": true, "initializer_range": true,
	"layer_norm_eps": true, "pad_token_id": true, "id2label": true, "label2id": true,
	"problem_type": true, "architectures": true, "position_embedding_type": true,
}

// quietKeys are written by transformers but mean nothing to an encoder in
// float32 inference or training; they are kept without a warning.
var quietKeys = map[string]bool{
	"transformers_version": true, "torch_dtype": true, "dtype": true, "use_cache": true,
	"gradient_checkpointing": true, "bos_token_id": true, "eos_token_id": true,
	"finetuning_task": true, "tokenizer_class": true, "_name_or_path": true,
	"output_past": true, "is_decoder": true, "add_cross_attention": true,
	"chunk_size_feed_forward": true, "return_dict": true, "output_hidden_states": true,
	"output_attentions": true, "torchscript": true, "pruned_heads": true,
	"tie_word_embeddings": true, "directionality": true, "pooler_fc_size": true,
	"pooler_num_attention_heads": true, "pooler_num_fc_layers": true, "pooler_size_per_head": true,
	"pooler_type": true,
}

// DefaultConfig returns HuggingFace's BertConfig defaults (BERT-base) for the
// given model type.
func DefaultConfig(modelType string) Config {
	c := Config{
		ModelType: modelType, VocabSize: 30522, HiddenSize: 768, NumHiddenLayers: 12,
		NumAttentionHeads: 12, IntermediateSize: 3072, HiddenAct: "gelu",
		HiddenDropoutProb: 0.1, AttentionDropoutProb: 0.1, MaxPositionEmbeddings: 512,
		TypeVocabSize: 2, InitializerRange: 0.02, LayerNormEps: 1e-12, PadTokenID: 0,
	}
	if modelType == "roberta" {
		c.VocabSize, c.MaxPositionEmbeddings, c.TypeVocabSize, c.LayerNormEps, c.PadTokenID = 50265, 514, 1, 1e-5, 1
	}
	return c
}

// ReadConfig reads a config.json. Unknown keys are kept in Extra and named in
// the returned warnings; missing required keys are an error naming them.
func ReadConfig(path string) (Config, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, nil, err
	}
	c, warnings, err := ParseConfig(data)
	if err != nil {
		return Config{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, warnings, nil
}

// ParseConfig parses the bytes of a config.json.
func ParseConfig(data []byte) (Config, []string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Config{}, nil, fmt.Errorf("invalid JSON: %w", err)
	}
	var missing []string
	for _, k := range requiredKeys {
		if _, ok := raw[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return Config{}, nil, fmt.Errorf("missing required keys: %s", strings.Join(missing, ", "))
	}
	var modelType string
	if err := json.Unmarshal(raw["model_type"], &modelType); err != nil {
		return Config{}, nil, fmt.Errorf("model_type: %w", err)
	}
	switch modelType {
	case "bert", "roberta":
	default:
		return Config{}, nil, fmt.Errorf("model_type %q is not supported (supported: bert, roberta)", modelType)
	}
	c := DefaultConfig(modelType)
	c.Extra = map[string]json.RawMessage{}
	var warnings []string
	fields := map[string]any{
		"vocab_size": &c.VocabSize, "hidden_size": &c.HiddenSize, "num_hidden_layers": &c.NumHiddenLayers,
		"num_attention_heads": &c.NumAttentionHeads, "intermediate_size": &c.IntermediateSize,
		"hidden_act": &c.HiddenAct, "hidden_dropout_prob": &c.HiddenDropoutProb,
		"attention_probs_dropout_prob": &c.AttentionDropoutProb, "classifier_dropout": &c.ClassifierDropout,
		"max_position_embeddings": &c.MaxPositionEmbeddings, "type_vocab_size": &c.TypeVocabSize,
		"initializer_range": &c.InitializerRange, "layer_norm_eps": &c.LayerNormEps,
		"pad_token_id": &c.PadTokenID, "problem_type": &c.ProblemType, "architectures": &c.Architectures,
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		v := raw[k]
		if dst, ok := fields[k]; ok {
			if string(v) == "null" {
				continue
			}
			if err := json.Unmarshal(v, dst); err != nil {
				return Config{}, nil, fmt.Errorf("key %q: %w", k, err)
			}
			continue
		}
		switch k {
		case "model_type", "label2id":
			continue
		case "id2label":
			var m map[string]string
			if err := json.Unmarshal(v, &m); err != nil {
				return Config{}, nil, fmt.Errorf("key %q: %w", k, err)
			}
			c.ID2Label = map[int]string{}
			for ks, name := range m {
				id, err := strconv.Atoi(ks)
				if err != nil {
					return Config{}, nil, fmt.Errorf("id2label key %q is not an integer", ks)
				}
				c.ID2Label[id] = name
			}
			continue
		case "position_embedding_type":
			var p string
			if err := json.Unmarshal(v, &p); err != nil || p != "absolute" {
				return Config{}, nil, fmt.Errorf("position_embedding_type %s is not supported (only \"absolute\")", v)
			}
			continue
		}
		c.Extra[k] = v
		if !quietKeys[k] {
			warnings = append(warnings, fmt.Sprintf("config key %q is not used by subtune", k))
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, nil, err
	}
	return c, warnings, nil
}

// MaxParams bounds the parameters of any config: 2⁵⁰, four petabytes in
// float32, more than any machine holds. Below it every size and offset is
// exact in an int; whether the model fits this machine is CheckMemory's
// question.
const MaxParams = 1 << 50

// Validate checks every value of the config, naming its key: sizes
// positive and within what ids and memory can address, hidden_size a
// multiple of num_attention_heads, a known activation, probabilities in
// [0, 1), layer_norm_eps positive, labels numbered 0…n−1.
func (c Config) Validate() error {
	var e argcheck.Errors
	// Token, type and position ids are int32.
	id := argcheck.Range{Lo: 1, Hi: math.MaxInt32}
	e.Int("vocab_size", c.VocabSize, id)
	e.Int("type_vocab_size", c.TypeVocabSize, id)
	e.Int("max_position_embeddings", c.MaxPositionEmbeddings, id)
	e.Int("hidden_size", c.HiddenSize, argcheck.Positive)
	e.Int("num_hidden_layers", c.NumHiddenLayers, argcheck.Positive)
	e.Int("num_attention_heads", c.NumAttentionHeads, argcheck.Positive)
	e.Int("intermediate_size", c.IntermediateSize, argcheck.Positive)
	e.Float("hidden_dropout_prob", c.HiddenDropoutProb, argcheck.Probability)
	e.Float("attention_probs_dropout_prob", c.AttentionDropoutProb, argcheck.Probability)
	if c.ClassifierDropout != nil {
		e.Float("classifier_dropout", *c.ClassifierDropout, argcheck.Probability)
	}
	e.Float("layer_norm_eps", c.LayerNormEps, argcheck.Positive)
	e.Float("initializer_range", c.InitializerRange, argcheck.NonNegative)
	if _, err := nn.ParseActivation(c.HiddenAct); err != nil {
		e.Add(err)
	}
	if len(e) > 0 {
		return e.Err() // the checks below need positive sizes
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		e.Addf("hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	}
	if c.PadTokenID < 0 || c.PadTokenID >= c.VocabSize {
		e.Addf("pad_token_id %d outside vocab_size %d", c.PadTokenID, c.VocabSize)
	} else if c.PositionLimit() < 1 {
		e.Addf("max_position_embeddings %d leaves no position after RoBERTa's offset of pad_token_id+1 = %d", c.MaxPositionEmbeddings, c.PadTokenID+1)
	}
	for i := range len(c.ID2Label) {
		if _, ok := c.ID2Label[i]; !ok {
			e.Addf("id2label has %d labels but no label %d: want the ids 0…%d", len(c.ID2Label), i, len(c.ID2Label)-1)
			break
		}
	}
	switch c.ProblemType {
	case "", "single_label_classification":
	case "regression":
		if n := c.NumLabels(); n != 1 {
			e.Addf("problem_type \"regression\" with %d labels: the regression head has one output (give id2label one label)", n)
		}
	default:
		e.Addf("problem_type %q is not supported (supported: regression, single_label_classification)", c.ProblemType)
	}
	for _, head := range []Head{SequenceClassification, PreTraining} {
		if n := c.paramCount(head); n > MaxParams {
			e.Addf("the config describes %.3g parameters, more than the %.3g any machine holds; the largest part is the %s", n, float64(MaxParams), c.largestParamPart(head).what)
			break
		}
	}
	return e.Err()
}

// NumLabels is the size of the classification head: len(id2label), 2 when
// the config has none, as transformers' PretrainedConfig.
func (c Config) NumLabels() int {
	if len(c.ID2Label) == 0 {
		return 2
	}
	return len(c.ID2Label)
}

// SetLabels sets id2label (and problem_type for one label, which HuggingFace
// treats as regression).
func (c *Config) SetLabels(labels []string) {
	c.ID2Label = map[int]string{}
	for i, l := range labels {
		c.ID2Label[i] = l
	}
	if len(labels) == 1 {
		c.ProblemType = "regression"
	} else if c.ProblemType == "regression" {
		c.ProblemType = "single_label_classification"
	}
}

// IsRegression reports whether the classification head is a regressor.
func (c Config) IsRegression() bool { return c.NumLabels() == 1 || c.ProblemType == "regression" }

// ClassifierDropoutProb is classifier_dropout when set, else hidden_dropout_prob.
func (c Config) ClassifierDropoutProb() float64 {
	if c.ClassifierDropout != nil {
		return *c.ClassifierDropout
	}
	return c.HiddenDropoutProb
}

// PositionLimit is the longest sequence the position embeddings hold:
// max_position_embeddings, less RoBERTa's offset (its positions start after
// pad_token_id).
func (c Config) PositionLimit() int {
	if c.ModelType == "roberta" {
		return c.MaxPositionEmbeddings - c.PadTokenID - 1
	}
	return c.MaxPositionEmbeddings
}

// HeadDim is the size of one attention head.
func (c Config) HeadDim() int { return c.HiddenSize / c.NumAttentionHeads }

// LayerSize is the number of parameters of one encoder layer.
func (c Config) LayerSize() int { return c.LayerLayout().Size() }

// JSON renders the config as transformers' save_pretrained does: sorted
// keys, two-space indent.
func (c Config) JSON() ([]byte, error) {
	m := map[string]any{}
	for k, v := range c.Extra {
		m[k] = v
	}
	m["model_type"] = c.ModelType
	m["vocab_size"] = c.VocabSize
	m["hidden_size"] = c.HiddenSize
	m["num_hidden_layers"] = c.NumHiddenLayers
	m["num_attention_heads"] = c.NumAttentionHeads
	m["intermediate_size"] = c.IntermediateSize
	m["hidden_act"] = c.HiddenAct
	m["hidden_dropout_prob"] = c.HiddenDropoutProb
	m["attention_probs_dropout_prob"] = c.AttentionDropoutProb
	m["classifier_dropout"] = c.ClassifierDropout
	m["max_position_embeddings"] = c.MaxPositionEmbeddings
	m["type_vocab_size"] = c.TypeVocabSize
	m["initializer_range"] = c.InitializerRange
	m["layer_norm_eps"] = c.LayerNormEps
	m["pad_token_id"] = c.PadTokenID
	m["position_embedding_type"] = "absolute"
	if len(c.Architectures) > 0 {
		m["architectures"] = c.Architectures
	}
	if len(c.ID2Label) > 0 {
		id2label, label2id := map[string]string{}, map[string]int{}
		for id, name := range c.ID2Label {
			id2label[strconv.Itoa(id)] = name
			label2id[name] = id
		}
		m["id2label"], m["label2id"] = id2label, label2id
	}
	if c.ProblemType != "" {
		m["problem_type"] = c.ProblemType
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
