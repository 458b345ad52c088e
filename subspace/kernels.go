package subspace

import "math"

// colBlock is how many columns the GEMV kernels handle at a time: a block
// of the output (or of the gradient) stays in L1 while the basis rows stream
// past it from memory once. Threads split a segment at block boundaries, so
// which columns go through the SIMD loop and which through the scalar tail
// depends only on the segment's length, never on the thread count.
const colBlock = 2048

// bf16 widens a bfloat16 to float32 exactly.
func bf16(u uint16) float32 { return math.Float32frombits(uint32(u) << 16) }

// expandF32 sets dst[j] = base[j] + Σᵢ x[i]·v[i·n+j] for j in [lo, hi): the
// update Vᵀx of one segment, added to θ0. v holds len(x) rows of n numbers.
// base == nil means zero. lo is a multiple of colBlock.
func expandF32(dst, base, v []float32, n int, x []float32, lo, hi int) {
	d := len(x)
	for c0 := lo; c0 < hi; c0 += colBlock {
		c1 := min(c0+colBlock, hi)
		out := dst[c0:c1]
		if base != nil {
			copy(out, base[c0:c1])
		} else {
			clear(out)
		}
		i := 0
		// Four rows per sweep: one load and store of out for four rows.
		for ; i+4 <= d; i += 4 {
			a := [4]float32{x[i], x[i+1], x[i+2], x[i+3]}
			r0 := v[i*n+c0 : i*n+c1]
			r1 := v[(i+1)*n+c0 : (i+1)*n+c1][:len(r0)]
			r2 := v[(i+2)*n+c0 : (i+2)*n+c1][:len(r0)]
			r3 := v[(i+3)*n+c0 : (i+3)*n+c1][:len(r0)]
			o := out[:len(r0)]
			k := 0
			if useSIMD {
				if k = len(o) &^ 15; k > 0 {
					expand4F32(&o[0], &r0[0], &r1[0], &r2[0], &r3[0], k, &a)
				}
			}
			for j := k; j < len(o); j++ {
				o[j] += a[0]*r0[j] + a[1]*r1[j] + a[2]*r2[j] + a[3]*r3[j]
			}
		}
		for ; i < d; i++ {
			a := x[i]
			r := v[i*n+c0 : i*n+c1]
			o := out[:len(r)]
			for j, w := range r {
				o[j] += a * w
			}
		}
	}
}

// expandBF16 is expandF32 for a basis kept in bfloat16: each weight is
// widened to float32 on the fly and all arithmetic is float32.
func expandBF16(dst, base []float32, v []uint16, n int, x []float32, lo, hi int) {
	d := len(x)
	for c0 := lo; c0 < hi; c0 += colBlock {
		c1 := min(c0+colBlock, hi)
		out := dst[c0:c1]
		if base != nil {
			copy(out, base[c0:c1])
		} else {
			clear(out)
		}
		i := 0
		for ; i+4 <= d; i += 4 {
			a := [4]float32{x[i], x[i+1], x[i+2], x[i+3]}
			r0 := v[i*n+c0 : i*n+c1]
			r1 := v[(i+1)*n+c0 : (i+1)*n+c1][:len(r0)]
			r2 := v[(i+2)*n+c0 : (i+2)*n+c1][:len(r0)]
			r3 := v[(i+3)*n+c0 : (i+3)*n+c1][:len(r0)]
			o := out[:len(r0)]
			k := 0
			if useSIMD {
				if k = len(o) &^ 15; k > 0 {
					expand4BF16(&o[0], &r0[0], &r1[0], &r2[0], &r3[0], k, &a)
				}
			}
			for j := k; j < len(o); j++ {
				o[j] += a[0]*bf16(r0[j]) + a[1]*bf16(r1[j]) + a[2]*bf16(r2[j]) + a[3]*bf16(r3[j])
			}
		}
		for ; i < d; i++ {
			a := x[i]
			r := v[i*n+c0 : i*n+c1]
			o := out[:len(r)]
			for j, w := range r {
				o[j] += a * bf16(w)
			}
		}
	}
}

// projectF32 adds Σ_{j∈[lo,hi)} v[i·n+j]·g[j] to acc[i] for every row i:
// the segment's share of V·g. Sums run in float32 within a column block (a
// few thousand terms, in eight lanes with SIMD) and in float64 across
// blocks.
func projectF32(acc []float64, v []float32, n int, g []float32, lo, hi int) {
	d := len(acc)
	var lanes [32]float32
	for c0 := lo; c0 < hi; c0 += colBlock {
		c1 := min(c0+colBlock, hi)
		gg := g[c0:c1]
		i := 0
		for ; i+4 <= d; i += 4 {
			r0 := v[i*n+c0 : i*n+c1][:len(gg)]
			r1 := v[(i+1)*n+c0 : (i+1)*n+c1][:len(gg)]
			r2 := v[(i+2)*n+c0 : (i+2)*n+c1][:len(gg)]
			r3 := v[(i+3)*n+c0 : (i+3)*n+c1][:len(gg)]
			var s0, s1, s2, s3 float32
			k := 0
			if useSIMD {
				if k = len(gg) &^ 15; k > 0 {
					project4F32(&lanes, &gg[0], &r0[0], &r1[0], &r2[0], &r3[0], k)
					s0, s1, s2, s3 = sumLanes(&lanes)
				}
			}
			for j := k; j < len(gg); j++ {
				x := gg[j]
				s0 += r0[j] * x
				s1 += r1[j] * x
				s2 += r2[j] * x
				s3 += r3[j] * x
			}
			acc[i] += float64(s0)
			acc[i+1] += float64(s1)
			acc[i+2] += float64(s2)
			acc[i+3] += float64(s3)
		}
		for ; i < d; i++ {
			r := v[i*n+c0 : i*n+c1][:len(gg)]
			var s float32
			for j, x := range gg {
				s += r[j] * x
			}
			acc[i] += float64(s)
		}
	}
}

// projectBF16 is projectF32 for a bfloat16 basis.
func projectBF16(acc []float64, v []uint16, n int, g []float32, lo, hi int) {
	d := len(acc)
	var lanes [32]float32
	for c0 := lo; c0 < hi; c0 += colBlock {
		c1 := min(c0+colBlock, hi)
		gg := g[c0:c1]
		i := 0
		for ; i+4 <= d; i += 4 {
			r0 := v[i*n+c0 : i*n+c1][:len(gg)]
			r1 := v[(i+1)*n+c0 : (i+1)*n+c1][:len(gg)]
			r2 := v[(i+2)*n+c0 : (i+2)*n+c1][:len(gg)]
			r3 := v[(i+3)*n+c0 : (i+3)*n+c1][:len(gg)]
			var s0, s1, s2, s3 float32
			k := 0
			if useSIMD {
				if k = len(gg) &^ 15; k > 0 {
					project4BF16(&lanes, &gg[0], &r0[0], &r1[0], &r2[0], &r3[0], k)
					s0, s1, s2, s3 = sumLanes(&lanes)
				}
			}
			for j := k; j < len(gg); j++ {
				x := gg[j]
				s0 += bf16(r0[j]) * x
				s1 += bf16(r1[j]) * x
				s2 += bf16(r2[j]) * x
				s3 += bf16(r3[j]) * x
			}
			acc[i] += float64(s0)
			acc[i+1] += float64(s1)
			acc[i+2] += float64(s2)
			acc[i+3] += float64(s3)
		}
		for ; i < d; i++ {
			r := v[i*n+c0 : i*n+c1][:len(gg)]
			var s float32
			for j, x := range gg {
				s += bf16(r[j]) * x
			}
			acc[i] += float64(s)
		}
	}
}

// sumLanes adds the eight lanes of each of four rows, pairwise.
func sumLanes(l *[32]float32) (s0, s1, s2, s3 float32) {
	sum := func(x []float32) float32 {
		return ((x[0] + x[4]) + (x[1] + x[5])) + ((x[2] + x[6]) + (x[3] + x[7]))
	}
	return sum(l[0:8]), sum(l[8:16]), sum(l[16:24]), sum(l[24:32])
}
