package model

import (
	"fmt"
	"slices"
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

// LayerTensor places one parameter tensor inside an encoder layer's flat
// vector, Model.Layer(l). The JSON names are those of trajectory manifests
// and basis metadata.
type LayerTensor struct {
	Name   string `json:"name"` // relative to "<prefix>.encoder.layer.<l>."
	Shape  []int  `json:"shape"`
	Offset int    `json:"offset"`
	Size   int    `json:"size"`
}

// LayerLayout is an encoder layer's tensors in the order they sit in its
// flat vector, each starting where the previous one ends.
type LayerLayout []LayerTensor

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

// LayerLayout is the layout of one of c's encoder layers: its parameters in
// state_dict order.
func (c Config) LayerLayout() LayerLayout {
	h, i := c.HiddenSize, c.IntermediateSize
	shapes := [][]int{
		{h, h}, {h}, {h, h}, {h}, {h, h}, {h},
		{h, h}, {h}, {h}, {h},
		{i, h}, {i},
		{h, i}, {h}, {h}, {h},
	}
	return NewLayerLayout(layerTensorNames, shapes)
}

// NewLayerLayout places tensors of the given names and shapes one after
// another. names and shapes have the same length.
func NewLayerLayout(names []string, shapes [][]int) LayerLayout {
	l := make(LayerLayout, len(names))
	off := 0
	for k, name := range names {
		n := 1
		for _, d := range shapes[k] {
			n *= d
		}
		l[k] = LayerTensor{Name: name, Shape: slices.Clone(shapes[k]), Offset: off, Size: n}
		off += n
	}
	return l
}

// Size is the number of parameters the layout covers.
func (l LayerLayout) Size() int {
	if len(l) == 0 {
		return 0
	}
	return l[len(l)-1].Offset + l[len(l)-1].Size
}

// Index returns the position of the tensor named name, or −1.
func (l LayerLayout) Index(name string) int {
	return slices.IndexFunc(l, func(t LayerTensor) bool { return t.Name == name })
}

// Equal reports whether l and o place the same tensors at the same offsets.
func (l LayerLayout) Equal(o LayerLayout) bool {
	return slices.EqualFunc(l, o, func(x, y LayerTensor) bool {
		return x.Name == y.Name && x.Offset == y.Offset && x.Size == y.Size && slices.Equal(x.Shape, y.Shape)
	})
}

// Check reports a layout read from a file whose tensors leave gaps, overlap
// or do not cover exactly size numbers.
func (l LayerLayout) Check(size int) error {
	off := 0
	for _, t := range l {
		// Sizes are bounded before they are added, so the sum cannot wrap.
		if t.Offset != off || t.Size <= 0 || t.Size > size-off {
			return fmt.Errorf("layer tensor %s at offset %d (size %d) does not follow the previous one at %d", t.Name, t.Offset, t.Size, off)
		}
		n := 1
		for _, d := range t.Shape {
			if d <= 0 || n > t.Size/d {
				n = -1
				break
			}
			n *= d
		}
		if n != t.Size {
			return fmt.Errorf("layer tensor %s has shape %v and size %d", t.Name, t.Shape, t.Size)
		}
		off += t.Size
	}
	if off != size {
		return fmt.Errorf("layer tensors cover %d numbers, a layer has %d", off, size)
	}
	return nil
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
	lay := c.LayerLayout()
	for l := 0; l < c.NumHiddenLayers; l++ {
		for _, t := range lay {
			add(fmt.Sprintf("%s.encoder.layer.%d.%s", p, l, t.Name), t.Shape...)
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
