package nn

import "math"

// CrossEntropyForward returns the mean over rows of −log softmax(logits)[label]
// for an n×c matrix of logits, skipping rows whose label is ignoreIndex
// (as torch.nn.CrossEntropyLoss(ignore_index=-100)), and writes the gradient
// of that mean into dlogits (which may be nil). It also returns the number of
// rows counted. Sums run in float64.
func CrossEntropyForward(dlogits, logits []float32, labels []int32, n, c int, ignoreIndex int32) (loss float64, count int) {
	for i := 0; i < n; i++ {
		if labels[i] != ignoreIndex {
			count++
		}
	}
	if count == 0 {
		if dlogits != nil {
			clear(dlogits[:n*c])
		}
		return 0, 0
	}
	losses := make([]float64, n)
	inv := 1 / float64(count)
	ParallelFor(n, 4*c, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := logits[i*c : (i+1)*c]
			if labels[i] == ignoreIndex {
				if dlogits != nil {
					clear(dlogits[i*c : (i+1)*c])
				}
				continue
			}
			m := row[0]
			for _, v := range row {
				m = max(m, v)
			}
			// Softmax in float32 with the row sum in float64: the vocabulary
			// rows of the masked-LM head make this the largest exp count of
			// a pre-training step.
			var sum float64
			if dlogits != nil {
				d := dlogits[i*c : (i+1)*c]
				for j, v := range row {
					e := Exp(v - m)
					d[j] = e
					sum += float64(e)
				}
				scale := float32(inv / sum)
				for j := range d {
					d[j] *= scale
				}
				d[labels[i]] -= float32(inv)
			} else {
				for _, v := range row {
					sum += float64(Exp(v - m))
				}
			}
			lse := float64(m) + math.Log(sum)
			losses[i] = lse - float64(row[labels[i]])
		}
	})
	for _, l := range losses {
		loss += l
	}
	return loss * inv, count
}

// MSEForward returns mean((pred−target)²) over n values and writes its
// gradient into dpred (which may be nil), as torch.nn.MSELoss.
func MSEForward(dpred, pred, target []float32, n int) float64 {
	var loss float64
	for i := 0; i < n; i++ {
		d := float64(pred[i]) - float64(target[i])
		loss += d * d
		if dpred != nil {
			dpred[i] = float32(2 * d / float64(n))
		}
	}
	return loss / float64(n)
}
