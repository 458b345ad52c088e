package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/subtune/subtune/nn"
)

// Model is an encoder with an optional task head. Its parameters are views
// into Data; see the package documentation for the layout.
type Model struct {
	Config  Config
	Head    Head
	Tensors []Tensor
	Data    []float32 // all parameters, in Tensors order
	Grad    []float32 // ∂loss/∂Data, accumulated by Backward

	act    nn.Activation
	byName map[string]int

	// Offsets of the pieces the forward pass needs, resolved once.
	wordEmb, posEmb, typeEmb, embLNw, embLNb int
	layerOff                                 []int
	layer                                    LayerLayout
	params, grads                            []layerParams  // views of each layer in Data and Grad
	weights                                  []layerWeights // each layer's dense weights, with bf16 roundings under mixed precision
	bf16                                     *bf16Weights   // nil in float32
}

// New allocates a model with zeroed parameters. Use Init or load a
// checkpoint to fill them. A config that Validate refuses, or whose
// parameters would not fit in the memory available, is an error.
func New(c Config, head Head) (*Model, error) {
	// Parameters and gradient must fit before they are allocated; callers
	// that know the batch check the workspace too (CheckMemory).
	if err := c.CheckMemory(head, Usage{}, 0); err != nil {
		return nil, err
	}
	act, err := nn.ParseActivation(c.HiddenAct)
	if err != nil {
		return nil, err
	}
	if head == PreTraining && c.ModelType != "bert" {
		return nil, fmt.Errorf("next-sentence pre-training is BERT's; model_type is %q", c.ModelType)
	}
	ts := layout(c, head)
	n := ts[len(ts)-1].Offset + ts[len(ts)-1].Size
	m := &Model{Config: c, Head: head, Tensors: ts, Data: make([]float32, n), Grad: make([]float32, n),
		act: act, byName: map[string]int{}}
	for i, t := range ts {
		m.byName[t.Name] = i
	}
	p := c.ModelType
	m.wordEmb = m.offset(p + ".embeddings.word_embeddings.weight")
	m.posEmb = m.offset(p + ".embeddings.position_embeddings.weight")
	m.typeEmb = m.offset(p + ".embeddings.token_type_embeddings.weight")
	m.embLNw = m.offset(p + ".embeddings.LayerNorm.weight")
	m.embLNb = m.offset(p + ".embeddings.LayerNorm.bias")
	m.layer = c.LayerLayout()
	m.layerOff = make([]int, 0, c.NumHiddenLayers)
	m.params = make([]layerParams, 0, c.NumHiddenLayers)
	m.grads = make([]layerParams, 0, c.NumHiddenLayers)
	for l := 0; l < c.NumHiddenLayers; l++ {
		m.layerOff = append(m.layerOff, m.offset(fmt.Sprintf("%s.encoder.layer.%d.%s", p, l, m.layer[0].Name)))
		m.params = append(m.params, newLayerParams(m.layer, m.Layer(l)))
		m.grads = append(m.grads, newLayerParams(m.layer, m.LayerGrad(l)))
	}
	m.setLayerWeights()
	return m, nil
}

func (m *Model) offset(name string) int { return m.Tensors[m.byName[name]].Offset }

// Tensor returns the named parameter as a slice of Data, or false.
func (m *Model) Tensor(name string) ([]float32, bool) {
	i, ok := m.byName[name]
	if !ok {
		return nil, false
	}
	t := m.Tensors[i]
	return m.Data[t.Offset : t.Offset+t.Size], true
}

// TensorInfo returns the named tensor's description, or false.
func (m *Model) TensorInfo(name string) (Tensor, bool) {
	i, ok := m.byName[name]
	if !ok {
		return Tensor{}, false
	}
	return m.Tensors[i], true
}

// Layer returns encoder layer l's parameters: one contiguous slice of Data.
func (m *Model) Layer(l int) []float32 {
	o := m.layerOff[l]
	return m.Data[o : o+m.layer.Size()]
}

// LayerGrad returns encoder layer l's gradient: one contiguous slice of Grad.
func (m *Model) LayerGrad(l int) []float32 {
	o := m.layerOff[l]
	return m.Grad[o : o+m.layer.Size()]
}

// LayerLayout places the tensors of an encoder layer inside Layer(l). It is
// the model's own; callers must not modify it.
func (m *Model) LayerLayout() LayerLayout { return m.layer }

// LayerOffset is where encoder layer l starts in Data.
func (m *Model) LayerOffset(l int) int { return m.layerOff[l] }

// NumParams is the number of parameters, counting tied weights once.
func (m *Model) NumParams() int { return len(m.Data) }

// ZeroGrad clears the gradient buffer.
func (m *Model) ZeroGrad() {
	nn.ParallelFor(len(m.Grad), 1, func(lo, hi int) { clear(m.Grad[lo:hi]) })
}

// Init fills the parameters as transformers' _init_weights does: linear and
// embedding weights from N(0, initializer_range²), biases zero, LayerNorm
// weight one, and the padding rows of embeddings that have a padding_idx zero.
// The values depend only on seed.
func (m *Model) Init(seed uint64) {
	for _, t := range m.Tensors {
		m.InitTensor(t.Name, seed)
	}
}

// InitTensor initialises one tensor as Init would, from a stream of random
// numbers that depends only on seed and the tensor's name, so a new
// classification head is the same whatever else the model holds.
func (m *Model) InitTensor(name string, seed uint64) {
	t := m.Tensors[m.byName[name]]
	d := m.Data[t.Offset : t.Offset+t.Size]
	switch {
	case strings.HasSuffix(name, "LayerNorm.weight") || strings.HasSuffix(name, "layer_norm.weight"):
		for i := range d {
			d[i] = 1
		}
	case len(t.Shape) == 1:
		clear(d)
	default:
		rng := rand.New(rand.NewPCG(seed, hashName(name)))
		std := m.Config.InitializerRange
		for i := range d {
			d[i] = float32(rng.NormFloat64() * std)
		}
	}
	h := m.Config.HiddenSize
	pad := m.Config.PadTokenID
	if strings.HasSuffix(name, "embeddings.word_embeddings.weight") ||
		(m.Config.ModelType == "roberta" && strings.HasSuffix(name, "embeddings.position_embeddings.weight")) {
		if pad*h+h <= len(d) {
			clear(d[pad*h : pad*h+h])
		}
	}
}

func hashName(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// CheckFinite returns an error naming the first tensor that holds NaN or Inf.
func (m *Model) CheckFinite() error {
	for _, t := range m.Tensors {
		for i, v := range m.Data[t.Offset : t.Offset+t.Size] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("tensor %s holds %v at index %d", t.Name, v, i)
			}
		}
	}
	return nil
}
