package outliers

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/subtune/subtune/model"
)

// Layout is one encoder layer's buffer as the analysis reads it: the
// model's layer layout, and for each tensor the axis that runs along the
// hidden size H.
type Layout struct {
	Tensors    model.LayerLayout
	HiddenSize int
	// HiddenAxis[k] is the axis of Tensors[k] whose index is a hidden
	// dimension (see Locate), or −1 when the tensor has none (an I-vector).
	HiddenAxis []int
	// perHidden[h] is the number of entries of the layer whose hidden
	// index is h (4H+2I+9 for every h of a BERT layer).
	perHidden []int
}

// LayoutFor is the layout of c's encoder layers.
func LayoutFor(c model.Config) Layout {
	l, err := NewLayout(c.LayerLayout(), c.HiddenSize)
	if err != nil {
		panic(err) // the model's own layout always has hidden axes
	}
	return l
}

// LayerSize is the number of entries of the layer buffer.
func (l Layout) LayerSize() int { return l.Tensors.Size() }

// NewLayout builds the analysis's view of a layer laid out as tensors. The
// hidden axis of a tensor is chosen
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
func NewLayout(tensors model.LayerLayout, hidden int) (Layout, error) {
	if hidden <= 0 {
		return Layout{}, fmt.Errorf("outliers: hidden size %d", hidden)
	}
	l := Layout{Tensors: tensors, HiddenSize: hidden, HiddenAxis: make([]int, len(tensors)), perHidden: make([]int, hidden)}
	for k, t := range tensors {
		sh := t.Shape
		if slices.ContainsFunc(sh, func(d int) bool { return d <= 0 }) {
			return Layout{}, fmt.Errorf("outliers: tensor %s has shape %v", t.Name, sh)
		}
		axis := -1
		switch len(sh) {
		case 1:
			if sh[0] == hidden {
				axis = 0
			}
		case 2:
			switch {
			case strings.HasSuffix(t.Name, "output.dense.weight") && sh[0] == hidden:
				axis = 0
			case sh[1] == hidden:
				axis = 1
			case sh[0] == hidden:
				axis = 0
			}
		default:
			return Layout{}, fmt.Errorf("outliers: tensor %s has %d axes; want 1 or 2", t.Name, len(sh))
		}
		l.HiddenAxis[k] = axis
		if axis >= 0 {
			// Every hidden index gets the same share of the tensor.
			for h := range l.perHidden {
				l.perHidden[h] += t.Size / hidden
			}
		}
	}
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
	loc.Hidden = l.hiddenOf(k, j)
	return loc
}

// hiddenOf is the hidden dimension of entry j of tensor k, or −1.
func (l Layout) hiddenOf(k, j int) int {
	t := l.Tensors[k]
	switch {
	case l.HiddenAxis[k] < 0:
		return -1
	case len(t.Shape) == 1:
		return j
	case l.HiddenAxis[k] == 0:
		return j / t.Shape[1]
	}
	return j % t.Shape[1]
}
