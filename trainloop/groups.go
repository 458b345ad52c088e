package trainloop

import (
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/optim"
)

// ParamGroups splits the tensors selected by trainable into AdamW groups as
// HuggingFace's Trainer does: weight decay for weights, none for biases and
// LayerNorm weights. Neighbouring tensors of the same kind share one group,
// so a group is one contiguous run of the model's buffers.
func ParamGroups(m *model.Model, lr, weightDecay float64, trainable func(model.Tensor) bool) []optim.Group {
	var groups []optim.Group
	start, end, decay := -1, -1, false
	var name string
	flush := func() {
		if start < 0 {
			return
		}
		wd := 0.0
		if decay {
			wd = weightDecay
		}
		groups = append(groups, optim.Group{Name: name, Data: m.Data[start:end], Grad: m.Grad[start:end], LR: lr, WeightDecay: wd})
		start = -1
	}
	for _, t := range m.Tensors {
		if trainable != nil && !trainable(t) {
			flush()
			continue
		}
		d := !t.NoDecay
		if start >= 0 && (d != decay || t.Offset != end) {
			flush()
		}
		if start < 0 {
			start, decay, name = t.Offset, d, t.Name
		}
		end = t.Offset + t.Size
	}
	flush()
	return groups
}

// CountParams sums the sizes of the groups.
func CountParams(groups []optim.Group) int {
	n := 0
	for _, g := range groups {
		n += len(g.Data)
	}
	return n
}
