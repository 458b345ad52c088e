package nn

import "math"

// Exp is e^x in float32 with a relative error below 3e-7: x = k·ln2 + r
// with |r| ≤ ln2/2, a degree-6 Taylor polynomial for e^r, and 2^k put
// straight into the exponent bits. Softmax and the GELU derivative call it
// tens of millions of times per training step, where math.Exp's float64
// path costs more than the matrix multiplies around it.
func Exp(x float32) float32 {
	if x > 88.7 {
		return float32(math.Inf(1))
	}
	if x < -87 {
		// Subnormal results: rare, and not worth a bit trick.
		return float32(math.Exp(float64(x)))
	}
	const log2e = 1.44269504088896341
	const ln2hi, ln2lo = 0.693359375, -2.12194440e-4
	// Round x·log2(e) to the nearest integer by adding and subtracting
	// 1.5·2²³, which leaves no fraction bits in float32: no call to Floor.
	const shifter = 12582912
	k := (x*log2e + shifter) - shifter
	r := x - k*ln2hi - k*ln2lo
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(int32(k)+127)<<23)
}

// Erf is the error function in float32, as a rational function of x on
// [−4, 4] (outside it erf is ±1 to float32 precision). The coefficients are
// the minimax fit used by Eigen and XLA for float32 erf; the absolute error is
// below 1e-6 over the whole line (TestErf).
func Erf(x float32) float32 {
	x = min(max(x, -4), 4)
	x2 := x * x
	p := x2*(-2.72614225801306e-10) + 2.77068142495902e-08
	p = x2*p - 2.10102402082508e-06
	p = x2*p - 5.69250639462346e-05
	p = x2*p - 7.34990630326855e-04
	p = x2*p - 2.95459980854025e-03
	p = x2*p - 1.60960333262415e-02
	p *= x
	q := x2*(-1.45660718464996e-05) - 2.13374055278905e-04
	q = x2*q - 1.68282697438203e-03
	q = x2*q - 7.37332916720468e-03
	q = x2*q - 1.42647390514189e-02
	return p / q
}

// Tanh is tanh(x) in float32 through Exp, with absolute error below 3e-7.
func Tanh(x float32) float32 {
	if x > 9 {
		return 1
	}
	if x < -9 {
		return -1
	}
	if x > -0.01 && x < 0.01 {
		// 1 − 2/(e^{2x}+1) cancels near zero; the series is exact there.
		return x - x*x*x/3
	}
	return 1 - 2/(Exp(2*x)+1)
}
