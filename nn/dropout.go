package nn

import "math"

// Dropout zeroes each element with probability p and scales the survivors by
// 1/(1−p), as torch.nn.Dropout in training mode. The mask is a pure function
// of (seed, element index): the same seed gives the same mask whatever the
// number of goroutines, which makes training runs reproducible and lets a
// resumed run replay exactly.
//
// mask receives 1 for kept elements and 0 for dropped ones; out may alias x.
// With p == 0 it copies x and sets every mask entry.
func Dropout(out, x []float32, mask []uint8, p float32, seed uint64) {
	if p <= 0 {
		copy(out, x)
		for i := range mask[:len(x)] {
			mask[i] = 1
		}
		return
	}
	ParallelFor((len(x)+3)/4, 16, func(lo, hi int) {
		lo, hi = 4*lo, min(4*hi, len(x))
		DropoutAt(out[lo:hi], x[lo:hi], mask[lo:hi], p, seed, lo)
	})
}

// DropoutAt applies to x the part of a Dropout mask that starts at element
// offset of a larger tensor, on the calling goroutine. When every piece
// starts at a multiple of 4, DropoutAt over the pieces gives exactly Dropout
// of the whole; otherwise the mask is still a pure function of (seed,
// offset), which is all reproducibility needs.
func DropoutAt(out, x []float32, mask []uint8, p float32, seed uint64, offset int) {
	if p <= 0 {
		copy(out, x)
		for i := range mask[:len(x)] {
			mask[i] = 1
		}
		return
	}
	scale := 1 / (1 - p)
	// Each 64-bit hash yields four 16-bit uniforms; an element is dropped
	// when its uniform falls below p·2¹⁶. The 1/65536 resolution shifts p
	// by at most 1.5e-5.
	threshold := uint64(p*65536 + 0.5)
	n := len(x)
	out, mask = out[:n], mask[:n]
	i := 0
	if useAVX512Dropout && n >= 16 {
		i = n &^ 15
		dropoutAVX512(&out[0], &x[0], &mask[0], i, seed, uint64(offset/4), threshold, scale)
	}
	for ; i < n; i += 4 {
		h := splitmix64(seed + uint64(offset/4+i/4)*0x9E3779B97F4A7C15)
		for j := i; j < min(i+4, n); j++ {
			keep := keepBit(h&0xFFFF, threshold)
			h >>= 16
			mask[j] = uint8(keep)
			out[j] = masked(x[j]*scale, keep)
		}
	}
}

// keepBit is 1 when the uniform u is at least the threshold and 0 when it
// is below: the borrow of u − threshold, both under 2¹⁶, without a branch
// (a tenth of the elements are dropped at random, which a branch predicts
// badly).
func keepBit(u, threshold uint64) uint32 { return uint32((u-threshold)>>63) ^ 1 }

// masked is v where keep is 1 and +0 where it is 0.
func masked(v float32, keep uint32) float32 {
	return math.Float32frombits(math.Float32bits(v) & -keep)
}

// DropoutBackward computes dx = dout·mask/(1−p); dx may alias dout.
func DropoutBackward(dx, dout []float32, mask []uint8, p float32) {
	ParallelFor(len(dout), 2, func(lo, hi int) { DropoutBackwardAt(dx[lo:hi], dout[lo:hi], mask[lo:hi], p) })
}

// DropoutBackwardAt is DropoutBackward on the calling goroutine.
func DropoutBackwardAt(dx, dout []float32, mask []uint8, p float32) {
	if p <= 0 {
		copy(dx, dout)
		return
	}
	scale := 1 / (1 - p)
	n := len(dout)
	dx, mask = dx[:n], mask[:n]
	i := 0
	if useAVX512Dropout && n >= 16 {
		i = n &^ 15
		dropoutBackwardAVX512(&dx[0], &dout[0], &mask[0], i, scale)
	}
	for ; i < n; i++ {
		dx[i] = masked(dout[i]*scale, uint32(mask[i]))
	}
}

// splitmix64 is a fast, well-mixed 64-bit hash (Steele et al. 2014).
func splitmix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// SeedFor derives the seed of one dropout site from a step's seed and the
// site's identity, so that masks of different sites are independent.
func SeedFor(stepSeed uint64, site ...uint64) uint64 {
	s := splitmix64(stepSeed)
	for _, v := range site {
		s = splitmix64(s ^ v)
	}
	return s
}
