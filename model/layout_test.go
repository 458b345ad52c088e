package model

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// TestLayerSizeBERTBase: a BERT-base layer holds 4H² + 2HI + 9H + I =
// 7,087,872 parameters (H = 768, I = 3072), the count in the BERT paper.
func TestLayerSizeBERTBase(t *testing.T) {
	c := DefaultConfig("bert")
	if got := c.LayerSize(); got != 7087872 {
		t.Fatalf("layer size %d, want 7,087,872", got)
	}
	if got := c.LayerLayout().Check(7087872); got != nil {
		t.Fatal(got)
	}
}

// TestLayerLayoutMatchesModel: every tensor of the layer layout is the
// state_dict tensor of that name, at the same place inside Layer(l).
func TestLayerLayoutMatchesModel(t *testing.T) {
	for _, typ := range []string{"bert", "roberta"} {
		m := randomModel(t, tinyConfig(typ, "gelu", 2), SequenceClassification, 1)
		lay := m.LayerLayout()
		if len(lay) != 16 {
			t.Fatalf("%s: %d layer tensors, want 16", typ, len(lay))
		}
		for l := range m.Config.NumHiddenLayers {
			for _, x := range lay {
				info, ok := m.TensorInfo(fmt.Sprintf("%s.encoder.layer.%d.%s", typ, l, x.Name))
				if !ok || info.Offset-m.LayerOffset(l) != x.Offset || info.Size != x.Size || fmt.Sprint(info.Shape) != fmt.Sprint(x.Shape) {
					t.Fatalf("%s layer %d: %+v in the layout, %+v in the model", typ, l, x, info)
				}
			}
		}
	}
}

// TestLayerParamsByName: each view the encoder computes with is the tensor
// its name says, in both Data and Grad, whatever order the layout lists
// the tensors in.
func TestLayerParamsByName(t *testing.T) {
	c := tinyConfig("bert", "gelu", 2)
	m := randomModel(t, c, SequenceClassification, 1)
	views := func(p *layerParams) map[string][]float32 {
		return map[string][]float32{
			"attention.self.query.weight": p.qw, "attention.self.query.bias": p.qb,
			"attention.self.key.weight": p.kw, "attention.self.key.bias": p.kb,
			"attention.self.value.weight": p.vw, "attention.self.value.bias": p.vb,
			"attention.output.dense.weight": p.ow, "attention.output.dense.bias": p.ob,
			"attention.output.LayerNorm.weight": p.ln1w, "attention.output.LayerNorm.bias": p.ln1b,
			"intermediate.dense.weight": p.iw, "intermediate.dense.bias": p.ib,
			"output.dense.weight": p.fw, "output.dense.bias": p.fb,
			"output.LayerNorm.weight": p.ln2w, "output.LayerNorm.bias": p.ln2b,
		}
	}
	same := func(a, b []float32) bool { return len(a) == len(b) && unsafe.SliceData(a) == unsafe.SliceData(b) }
	for l := range c.NumHiddenLayers {
		for name, v := range views(&m.params[l]) {
			info, _ := m.TensorInfo(fmt.Sprintf("bert.encoder.layer.%d.%s", l, name))
			if !same(v, m.Data[info.Offset:info.Offset+info.Size]) {
				t.Errorf("layer %d: the %s view is not the tensor in Data", l, name)
			}
			if g := views(&m.grads[l])[name]; !same(g, m.Grad[info.Offset:info.Offset+info.Size]) {
				t.Errorf("layer %d: the %s view is not the tensor in Grad", l, name)
			}
		}
	}

	// The same layout listed backwards: views follow the names.
	lay := c.LayerLayout()
	names, shapes := make([]string, len(lay)), make([][]int, len(lay))
	for k, x := range lay {
		names[len(lay)-1-k], shapes[len(lay)-1-k] = x.Name, x.Shape
	}
	rev := NewLayerLayout(names, shapes)
	buf := make([]float32, rev.Size())
	p := newLayerParams(rev, buf)
	for name, v := range views(&p) {
		x := rev[rev.Index(name)]
		if !same(v, buf[x.Offset:x.Offset+x.Size]) {
			t.Errorf("reversed layout: the %s view is not the tensor of that name", name)
		}
	}
}

func TestLayerLayoutCheck(t *testing.T) {
	good := NewLayerLayout([]string{"w", "b"}, [][]int{{2, 3}, {3}})
	if err := good.Check(9); err != nil {
		t.Fatal(err)
	}
	gap := LayerLayout{{Name: "w", Shape: []int{6}, Offset: 0, Size: 6}, {Name: "b", Shape: []int{3}, Offset: 7, Size: 3}}
	for _, tc := range []struct {
		name string
		lay  LayerLayout
		size int
		want string
	}{
		{"short", good, 10, "cover 9 numbers, a layer has 10"},
		{"gap", gap, 10, "layer tensor b at offset 7"},
		{"empty tensor", LayerLayout{{Name: "w", Offset: 0, Size: 0}}, 0, "layer tensor w"},
	} {
		if err := tc.lay.Check(tc.size); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if !good.Equal(NewLayerLayout([]string{"w", "b"}, [][]int{{2, 3}, {3}})) || good.Equal(NewLayerLayout([]string{"w", "b"}, [][]int{{3, 2}, {3}})) {
		t.Error("Equal does not compare shapes")
	}
}
