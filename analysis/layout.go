package analysis

import (
	"fmt"
	"sort"
	"strings"

	"github.com/subtune/subtune/model"
)

// Tensor is one parameter tensor of an encoder layer: where it sits in the
// layer's flat buffer and which of its axes runs along the hidden size.
type Tensor struct {
	Name   string // relative to the layer, e.g. "attention.output.LayerNorm.weight"
	Shape  []int  // PyTorch's shape: a Linear weight is out×in
	Offset int    // in the layer buffer
	Size   int
	// HiddenAxis is the axis whose index is a hidden dimension (see
	// Layout.Locate), or −1 when the tensor has none (an I-vector).
	HiddenAxis int
}

// Layout describes one encoder layer's buffer: its tensors in buffer order
// and the hidden size H.
type Layout struct {
	Tensors    []Tensor
	HiddenSize int
	LayerSize  int
	// perHidden[h] is the number of entries of the layer whose hidden
	// index is h (4H+2I+9 for every h of a BERT layer).
	perHidden []int
}

// LayoutFor is the layout of c's encoder layers (model.LayerTensorShapes).
func LayoutFor(c model.Config) Layout {
	names, shapes := model.LayerTensorShapes(c)
	l, err := NewLayout(names, shapes, c.HiddenSize)
	if err != nil {
		panic(err) // the model's own layout always has hidden axes
	}
	return l
}

// NewLayout builds the layout of a layer whose tensors, in buffer order,
// have the given names and shapes. The hidden axis of a tensor is chosen
// as the axis that indexes the residual stream:
//
//   - a weight that writes into the stream (a name ending in
//     "output.dense.weight": attention.output.dense and output.dense,
//     out×in = H×H and H×I) uses its rows;
//   - any other matrix reads from the stream (query, key, value,
//     intermediate.dense: H×H and I×H) and uses its columns; when its
//     column count is not H, its rows if they are;
//   - a vector of length H uses its own index; other vectors (the I-sized
//     intermediate bias) have none.
//
// For the query, key and value biases (and their weights' rows) the index
// is a coordinate of the attention heads' space, which in BERT also has H
// entries; it is counted as the hidden index all the same, as the entries'
// position in the vector.
func NewLayout(names []string, shapes [][]int, hidden int) (Layout, error) {
	if len(names) != len(shapes) {
		return Layout{}, fmt.Errorf("analysis: %d tensor names but %d shapes", len(names), len(shapes))
	}
	if hidden <= 0 {
		return Layout{}, fmt.Errorf("analysis: hidden size %d", hidden)
	}
	l := Layout{HiddenSize: hidden, perHidden: make([]int, hidden)}
	off := 0
	for i, name := range names {
		sh := shapes[i]
		n := 1
		for _, d := range sh {
			if d <= 0 {
				return Layout{}, fmt.Errorf("analysis: tensor %s has shape %v", name, sh)
			}
			n *= d
		}
		t := Tensor{Name: name, Shape: append([]int(nil), sh...), Offset: off, Size: n, HiddenAxis: -1}
		switch len(sh) {
		case 1:
			if sh[0] == hidden {
				t.HiddenAxis = 0
			}
		case 2:
			switch {
			case strings.HasSuffix(name, "output.dense.weight") && sh[0] == hidden:
				t.HiddenAxis = 0
			case sh[1] == hidden:
				t.HiddenAxis = 1
			case sh[0] == hidden:
				t.HiddenAxis = 0
			}
		default:
			return Layout{}, fmt.Errorf("analysis: tensor %s has %d axes; want 1 or 2", name, len(sh))
		}
		if t.HiddenAxis >= 0 {
			// Every hidden index gets the same share of the tensor.
			for h := range l.perHidden {
				l.perHidden[h] += n / hidden
			}
		}
		l.Tensors = append(l.Tensors, t)
		off += n
	}
	l.LayerSize = off
	return l, nil
}

// Location is where an entry of the layer buffer sits.
type Location struct {
	Tensor int // index into Layout.Tensors
	Row    int // for a vector, the index
	Col    int // −1 for a vector
	Hidden int // the hidden dimension, −1 if none
}

// Locate maps index i of the layer buffer to its tensor, row and column,
// and hidden dimension.
func (l Layout) Locate(i int) Location {
	k := sort.Search(len(l.Tensors), func(k int) bool { return l.Tensors[k].Offset+l.Tensors[k].Size > i })
	t := l.Tensors[k]
	j := i - t.Offset
	loc := Location{Tensor: k, Row: j, Col: -1, Hidden: -1}
	if len(t.Shape) == 2 {
		loc.Row, loc.Col = j/t.Shape[1], j%t.Shape[1]
	}
	loc.Hidden = t.hiddenOf(j)
	return loc
}

// hiddenOf is the hidden dimension of entry j of t, or −1.
func (t *Tensor) hiddenOf(j int) int {
	switch {
	case t.HiddenAxis < 0:
		return -1
	case len(t.Shape) == 1:
		return j
	case t.HiddenAxis == 0:
		return j / t.Shape[1]
	}
	return j % t.Shape[1]
}

// TensorIndex returns the index of the tensor named name, or −1.
func (l Layout) TensorIndex(name string) int {
	for k, t := range l.Tensors {
		if t.Name == name {
			return k
		}
	}
	return -1
}
