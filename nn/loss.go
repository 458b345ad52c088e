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
			// Softmax in float32 with the row sum in float64: the vocabulary
			// rows of the masked-LM head make this the largest exp count of
			// a pre-training step.
			var d []float32
			if dlogits != nil {
				d = dlogits[i*c : (i+1)*c]
			}
			var m float32
			var sum float64
			if useAVX2 {
				m = rowMaxSIMD(row)
				sum = expSumSIMD(d, row, m)
			} else {
				m = rowMax(row)
				sum = expSum(d, row, m)
			}
			if d != nil {
				if useAVX2 {
					scaleSIMD(d, float32(inv/sum))
				} else {
					scaleRow(d, float32(inv/sum))
				}
				d[labels[i]] -= float32(inv)
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

// rowMax is the largest element of a non-empty row; a NaN makes it NaN.
func rowMax(row []float32) float32 {
	m := row[0]
	for _, v := range row {
		m = max(m, v)
	}
	return m
}

// expSum returns Σⱼ e^(xⱼ−shift) summed in float64, and when out is not nil
// also writes the terms there.
func expSum(out, x []float32, shift float32) float64 {
	var sum float64
	if out != nil {
		out = out[:len(x)]
		for j, v := range x {
			e := Exp(v - shift)
			out[j] = e
			sum += float64(e)
		}
		return sum
	}
	for _, v := range x {
		sum += float64(Exp(v - shift))
	}
	return sum
}

// scaleRow multiplies x by s in place.
func scaleRow(x []float32, s float32) {
	for j := range x {
		x[j] *= s
	}
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
