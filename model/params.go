package model

import (
	"fmt"
	"strings"
)

// Head selects the task head on top of the encoder.
type Head int

const (
	// NoHead is the bare encoder (BertModel without pooler).
	NoHead Head = iota
	// SequenceClassification is BertForSequenceClassification or
	// RobertaForSequenceClassification; one label means regression.
	SequenceClassification
	// MaskedLM is BertForMaskedLM: the prediction head with its decoder
	// tied to the word embeddings.
	MaskedLM
	// PreTraining is BertForPreTraining: the masked-LM head plus the pooler
	// and the next-sentence classifier on [CLS], whose losses add. BERT only.
	PreTraining
)

func (h Head) String() string {
	switch h {
	case SequenceClassification:
		return "sequence-classification"
	case MaskedLM:
		return "masked-lm"
	case PreTraining:
		return "pre-training"
	}
	return "base"
}

// Tensor is one named parameter tensor: a view of Model.Data at Offset.
type Tensor struct {
	Name   string // HuggingFace state_dict name, e.g. "bert.encoder.layer.0.attention.self.query.weight"
	Shape  []int
	Offset int
	Size   int
	// NoDecay marks biases and LayerNorm weights, which AdamW leaves
	// undecayed in HuggingFace's Trainer.
	NoDecay bool
}

// layerTensorNames are the parameters of one encoder layer, in state_dict order.
var layerTensorNames = []string{
	"attention.self.query.weight", "attention.self.query.bias",
	"attention.self.key.weight", "attention.self.key.bias",
	"attention.self.value.weight", "attention.self.value.bias",
	"attention.output.dense.weight", "attention.output.dense.bias",
	"attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
	"intermediate.dense.weight", "intermediate.dense.bias",
	"output.dense.weight", "output.dense.bias",
	"output.LayerNorm.weight", "output.LayerNorm.bias",
}

// LayerTensorShapes gives the names (relative to the layer) and shapes of one
// encoder layer's parameters, in the order they sit in the layer's buffer.
func LayerTensorShapes(c Config) (names []string, shapes [][]int) {
	h, i := c.HiddenSize, c.IntermediateSize
	shapes = [][]int{
		{h, h}, {h}, {h, h}, {h}, {h, h}, {h},
		{h, h}, {h}, {h}, {h},
		{i, h}, {i},
		{h, i}, {h}, {h}, {h},
	}
	return layerTensorNames, shapes
}

// layout lists every tensor of a model with its offset in Data.
func layout(c Config, head Head) []Tensor {
	var ts []Tensor
	off := 0
	add := func(name string, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		noDecay := strings.HasSuffix(name, "bias") || strings.Contains(name, "LayerNorm.weight") || strings.Contains(name, "layer_norm.weight")
		ts = append(ts, Tensor{Name: name, Shape: shape, Offset: off, Size: n, NoDecay: noDecay})
		off += n
	}
	p := c.ModelType
	h := c.HiddenSize
	add(p+".embeddings.word_embeddings.weight", c.VocabSize, h)
	add(p+".embeddings.position_embeddings.weight", c.MaxPositionEmbeddings, h)
	add(p+".embeddings.token_type_embeddings.weight", c.TypeVocabSize, h)
	add(p+".embeddings.LayerNorm.weight", h)
	add(p+".embeddings.LayerNorm.bias", h)
	names, shapes := LayerTensorShapes(c)
	for l := 0; l < c.NumHiddenLayers; l++ {
		for k, n := range names {
			add(fmt.Sprintf("%s.encoder.layer.%d.%s", p, l, n), shapes[k]...)
		}
	}
	switch head {
	case SequenceClassification:
		nl := c.NumLabels()
		if c.ModelType == "roberta" {
			add("classifier.dense.weight", h, h)
			add("classifier.dense.bias", h)
			add("classifier.out_proj.weight", nl, h)
			add("classifier.out_proj.bias", nl)
		} else {
			add(p+".pooler.dense.weight", h, h)
			add(p+".pooler.dense.bias", h)
			add("classifier.weight", nl, h)
			add("classifier.bias", nl)
		}
	case MaskedLM, PreTraining:
		// The decoder weight is the word embedding matrix; only its bias is
		// a parameter of its own, as in BertForMaskedLM.
		if c.ModelType == "roberta" {
			add("lm_head.bias", c.VocabSize)
			add("lm_head.dense.weight", h, h)
			add("lm_head.dense.bias", h)
			add("lm_head.layer_norm.weight", h)
			add("lm_head.layer_norm.bias", h)
		} else {
			add("cls.predictions.bias", c.VocabSize)
			add("cls.predictions.transform.dense.weight", h, h)
			add("cls.predictions.transform.dense.bias", h)
			add("cls.predictions.transform.LayerNorm.weight", h)
			add("cls.predictions.transform.LayerNorm.bias", h)
		}
		if head == PreTraining {
			add(p+".pooler.dense.weight", h, h)
			add(p+".pooler.dense.bias", h)
			add("cls.seq_relationship.weight", 2, h)
			add("cls.seq_relationship.bias", 2)
		}
	}
	return ts
}
