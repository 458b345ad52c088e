//go:build amd64 && !purego

#include "textflag.h"

// AVX2/FMA versions of the hot element-wise loops of activation.go,
// softmax.go, layernorm.go and loss.go; kernels.go wraps them and says
// which lengths each accepts. They evaluate the same formulas as the scalar
// code (same polynomial coefficients, same range reduction), eight lanes at
// a time, with fused multiply-adds where the scalar code rounds twice: the
// results agree with the scalar ones to a few float32 ulps, not bit for bit.
//
// Operands are in Go's order, the reverse of Intel's: destination last.
// That matters beyond readability for min and max, which return their
// second Intel operand (the first here) when either is NaN.

// SPLAT defines sym as 32 bytes holding v eight times, so a constant can be
// an instruction's memory operand instead of occupying a register.
#define SPLAT(sym, v) \
	DATA sym+0(SB)/4, v; DATA sym+4(SB)/4, v; DATA sym+8(SB)/4, v; DATA sym+12(SB)/4, v; \
	DATA sym+16(SB)/4, v; DATA sym+20(SB)/4, v; DATA sym+24(SB)/4, v; DATA sym+28(SB)/4, v; \
	GLOBL sym(SB), RODATA|NOPTR, $32

SPLAT(one<>, $1.0)
SPLAT(half<>, $0.5)
SPLAT(negHalf<>, $-0.5)
SPLAT(posInf<>, $0x7f800000)
SPLAT(negInf<>, $0xff800000)

// Erf's rational function (fastmath.go): erf(x) = x·A(x²)/B(x²) on [−4, 4].
SPLAT(invSqrt2<>, $0.70710678118654752440)
SPLAT(erfLo<>, $-4.0)
SPLAT(erfHi<>, $4.0)
SPLAT(erfA0<>, $-2.72614225801306e-10)
SPLAT(erfA1<>, $2.77068142495902e-08)
SPLAT(erfA2<>, $-2.10102402082508e-06)
SPLAT(erfA3<>, $-5.69250639462346e-05)
SPLAT(erfA4<>, $-7.34990630326855e-04)
SPLAT(erfA5<>, $-2.95459980854025e-03)
SPLAT(erfA6<>, $-1.60960333262415e-02)
SPLAT(erfB0<>, $-1.45660718464996e-05)
SPLAT(erfB1<>, $-2.13374055278905e-04)
SPLAT(erfB2<>, $-1.68282697438203e-03)
SPLAT(erfB3<>, $-7.37332916720468e-03)
SPLAT(erfB4<>, $-1.42647390514189e-02)

// Exp's range reduction and Taylor polynomial (fastmath.go).
SPLAT(invSqrt2Pi<>, $0.39894228040143267794)
SPLAT(expLog2e<>, $1.44269504088896341)
SPLAT(expLn2Hi<>, $0.693359375)
SPLAT(expLn2Lo<>, $-2.12194440e-4)
SPLAT(expC3<>, $0.16666666666666666667)
SPLAT(expC4<>, $0.04166666666666666667)
SPLAT(expC5<>, $0.00833333333333333333)
SPLAT(expC6<>, $0.00138888888888888889)
SPLAT(expBias<>, $127)
// Below ln(2⁻¹²⁶) the result would be subnormal and 2^k's exponent field
// would wrap: return 0, at most 1.2e-38 from the true value. Above 88.7 the
// scalar Exp returns +Inf, and so does this one.
SPLAT(expMin<>, $-87.33654475)
SPLAT(expMax<>, $88.7)

// tailMask+32−4r holds r all-ones lanes followed by zeros: the mask for
// VMASKMOVPS on the last r < 8 elements of a slice.
DATA tailMask<>+0(SB)/8, $-1
DATA tailMask<>+8(SB)/8, $-1
DATA tailMask<>+16(SB)/8, $-1
DATA tailMask<>+24(SB)/8, $-1
DATA tailMask<>+32(SB)/8, $0
DATA tailMask<>+40(SB)/8, $0
DATA tailMask<>+48(SB)/8, $0
DATA tailMask<>+56(SB)/8, $0
GLOBL tailMask<>(SB), RODATA|NOPTR, $64

// TAILMASK sets Y to the mask of the first R lanes (1 ≤ R ≤ 7); R and T
// are clobbered.
#define TAILMASK(R, T, Y) \
	LEAQ    tailMask<>+32(SB), T; \
	SHLQ    $2, R; \
	SUBQ    R, T; \
	VMOVUPS (T), Y

// EXP sets P = e^X lane by lane as the scalar Exp does: k = round(x·log₂e),
// r = x − k·ln2 in two parts, P = p(r)·2^k with 2^k built in the exponent
// bits. X is kept; K, R and M are scratch. NaN stays NaN: it fails both
// range compares and poisons the polynomial.
#define EXP(X, K, R, P, M) \
	VMULPS       expLog2e<>(SB), X, K; \
	VROUNDPS     $0, K, K; \
	VMOVAPS      X, R; \
	VFNMADD231PS expLn2Hi<>(SB), K, R; \
	VFNMADD231PS expLn2Lo<>(SB), K, R; \
	VMOVUPS      expC6<>(SB), P; \
	VFMADD213PS  expC5<>(SB), R, P; \
	VFMADD213PS  expC4<>(SB), R, P; \
	VFMADD213PS  expC3<>(SB), R, P; \
	VFMADD213PS  half<>(SB), R, P; \
	VFMADD213PS  one<>(SB), R, P; \
	VFMADD213PS  one<>(SB), R, P; \
	VCVTTPS2DQ   K, K; \
	VPADDD       expBias<>(SB), K, K; \
	VPSLLD       $23, K, K; \
	VMULPS       K, P, P; \
	VCMPPS       $1, expMin<>(SB), X, M; \
	VANDNPS      P, M, P; \
	VCMPPS       $14, expMax<>(SB), X, M; \
	VBLENDVPS    M, posInf<>(SB), P, P

// GELU sets C = Φ(V) = (1 + erf(V/√2))/2 and O = V·C. X, X2 are scratch.
// The clamp to [−4, 4] needs −4 and 4 in Y14 and Y15, as register operands:
// with x as the second (Intel) operand of min and max, a NaN x goes through
// the clamp, as with Go's min and max, and Φ(NaN) is NaN.
#define GELU(V, X, X2, C, O) \
	VMULPS      invSqrt2<>(SB), V, X; \
	VMAXPS      X, Y14, X; \
	VMINPS      X, Y15, X; \
	VMULPS      X, X, X2; \
	VMOVUPS     erfA0<>(SB), C; \
	VFMADD213PS erfA1<>(SB), X2, C; \
	VFMADD213PS erfA2<>(SB), X2, C; \
	VFMADD213PS erfA3<>(SB), X2, C; \
	VFMADD213PS erfA4<>(SB), X2, C; \
	VFMADD213PS erfA5<>(SB), X2, C; \
	VFMADD213PS erfA6<>(SB), X2, C; \
	VMULPS      X, C, C; \
	VMOVUPS     erfB0<>(SB), O; \
	VFMADD213PS erfB1<>(SB), X2, O; \
	VFMADD213PS erfB2<>(SB), X2, O; \
	VFMADD213PS erfB3<>(SB), X2, O; \
	VFMADD213PS erfB4<>(SB), X2, O; \
	VDIVPS      O, C, C; \
	VADDPS      one<>(SB), C, C; \
	VMULPS      half<>(SB), C, C; \
	VMULPS      C, V, O

// GELU_BWD sets P = G·(A + V·φ(V)), φ(v) = e^(−v²/2)/√(2π), from x in V, the
// upstream gradient G and the saved Φ(x) in A (registers or memory).
#define GELU_BWD(V, G, A, T, K, R, P, M) \
	VMULPS      V, V, T; \
	VMULPS      negHalf<>(SB), T, T; \
	EXP(T, K, R, P, M); \
	VMULPS      invSqrt2Pi<>(SB), P, P; \
	VFMADD213PS A, V, P; \
	VMULPS      G, P, P

// HSUM8 and HMAX8 fold the eight lanes of Y0 into X0's lowest; X1 is scratch.
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS       X1, X0, X0; \
	VPERMILPS    $0x4e, X0, X1; \
	VADDPS       X1, X0, X0; \
	VPERMILPS    $0xb1, X0, X1; \
	VADDPS       X1, X0, X0

#define HMAX8 \
	VEXTRACTF128 $1, Y0, X1; \
	VMAXPS       X1, X0, X0; \
	VPERMILPS    $0x4e, X0, X1; \
	VMAXPS       X1, X0, X0; \
	VPERMILPS    $0xb1, X0, X1; \
	VMAXPS       X1, X0, X0

// HSUM4D folds the four float64 lanes of Y0 into X0's lowest.
#define HSUM4D \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPD       X1, X0, X0; \
	VPERMILPD    $1, X0, X1; \
	VADDSD       X1, X0, X0

// func geluForwardAVX2(out, aux, x *float32, n int)
// Any n ≥ 0. Two blocks of eight per iteration, so that one block's chain of
// dependent FMAs runs while the other's waits on the divider.
TEXT ·geluForwardAVX2(SB), NOSPLIT, $0-32
	MOVQ    out+0(FP), DI
	MOVQ    aux+8(FP), SI
	MOVQ    x+16(FP), DX
	MOVQ    n+24(FP), CX
	VMOVUPS erfLo<>(SB), Y14
	VMOVUPS erfHi<>(SB), Y15
	XORQ    BX, BX

gf_loop16:
	LEAQ    16(BX), AX
	CMPQ    AX, CX
	JGT     gf_block8
	VMOVUPS (DX)(BX*4), Y0
	VMOVUPS 32(DX)(BX*4), Y5
	GELU(Y0, Y1, Y2, Y3, Y4)
	GELU(Y5, Y6, Y7, Y8, Y9)
	VMOVUPS Y3, (SI)(BX*4)
	VMOVUPS Y8, 32(SI)(BX*4)
	VMOVUPS Y4, (DI)(BX*4)
	VMOVUPS Y9, 32(DI)(BX*4)
	MOVQ    AX, BX
	JMP     gf_loop16

gf_block8:
	LEAQ    8(BX), AX
	CMPQ    AX, CX
	JGT     gf_tail
	VMOVUPS (DX)(BX*4), Y0
	GELU(Y0, Y1, Y2, Y3, Y4)
	VMOVUPS Y3, (SI)(BX*4)
	VMOVUPS Y4, (DI)(BX*4)
	MOVQ    AX, BX

gf_tail:
	// The last n mod 8 through masked loads and stores, so that every
	// element sees the same arithmetic wherever ParallelFor cut the slice.
	SUBQ       BX, CX
	JLE        gf_done
	TAILMASK(CX, AX, Y13)
	VMASKMOVPS (DX)(BX*4), Y13, Y0
	GELU(Y0, Y1, Y2, Y3, Y4)
	VMASKMOVPS Y3, Y13, (SI)(BX*4)
	VMASKMOVPS Y4, Y13, (DI)(BX*4)

gf_done:
	VZEROUPPER
	RET

// func geluBackwardAVX2(dx, dout, x, aux *float32, n int)
// Any n ≥ 0; dx may alias dout.
TEXT ·geluBackwardAVX2(SB), NOSPLIT, $0-40
	MOVQ dx+0(FP), DI
	MOVQ dout+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ aux+24(FP), R8
	MOVQ n+32(FP), CX
	XORQ BX, BX

gb_loop16:
	LEAQ    16(BX), AX
	CMPQ    AX, CX
	JGT     gb_block8
	VMOVUPS (DX)(BX*4), Y0
	VMOVUPS 32(DX)(BX*4), Y6
	GELU_BWD(Y0, (SI)(BX*4), (R8)(BX*4), Y1, Y2, Y3, Y4, Y5)
	GELU_BWD(Y6, 32(SI)(BX*4), 32(R8)(BX*4), Y7, Y8, Y9, Y10, Y11)
	VMOVUPS Y4, (DI)(BX*4)
	VMOVUPS Y10, 32(DI)(BX*4)
	MOVQ    AX, BX
	JMP     gb_loop16

gb_block8:
	LEAQ    8(BX), AX
	CMPQ    AX, CX
	JGT     gb_tail
	VMOVUPS (DX)(BX*4), Y0
	GELU_BWD(Y0, (SI)(BX*4), (R8)(BX*4), Y1, Y2, Y3, Y4, Y5)
	VMOVUPS Y4, (DI)(BX*4)
	MOVQ    AX, BX

gb_tail:
	SUBQ       BX, CX
	JLE        gb_done
	TAILMASK(CX, AX, Y15)
	VMASKMOVPS (DX)(BX*4), Y15, Y0
	VMASKMOVPS (SI)(BX*4), Y15, Y12
	VMASKMOVPS (R8)(BX*4), Y15, Y13
	GELU_BWD(Y0, Y12, Y13, Y1, Y2, Y3, Y4, Y5)
	VMASKMOVPS Y4, Y15, (DI)(BX*4)

gb_done:
	VZEROUPPER
	RET

// func maxKeepAVX2(x *float32, keep *bool, n int) float32
// max of x[j] over j < n with keep[j]; −Inf if none. n is a multiple of 8.
// A NaN is skipped, as by the scalar v > m.
TEXT ·maxKeepAVX2(SB), NOSPLIT, $0-28
	MOVQ    x+0(FP), SI
	MOVQ    keep+8(FP), R8
	MOVQ    n+16(FP), CX
	VMOVUPS negInf<>(SB), Y15
	VMOVAPS Y15, Y0
	VPXOR   Y14, Y14, Y14
	XORQ    BX, BX

mk_loop:
	CMPQ      BX, CX
	JGE       mk_done
	// 0 − keep is all ones for a kept key, zero for a masked one.
	VPMOVZXBD (R8)(BX*1), Y1
	VPSUBD    Y1, Y14, Y1
	VBLENDVPS Y1, (SI)(BX*4), Y15, Y2
	VMAXPS    Y0, Y2, Y0
	ADDQ      $8, BX
	JMP       mk_loop

mk_done:
	HMAX8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func expKeepAVX2(out, x *float32, keep *bool, n int, shift float32) float32
// out[j] = e^(x[j]−shift) where keep[j], else 0; returns Σ out[j] (in eight
// float32 lanes). n is a multiple of 8; out may alias x.
TEXT ·expKeepAVX2(SB), NOSPLIT, $0-44
	MOVQ         out+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         keep+16(FP), R8
	MOVQ         n+24(FP), CX
	VBROADCASTSS shift+32(FP), Y15
	VPXOR        Y14, Y14, Y14
	VXORPS       Y13, Y13, Y13
	XORQ         BX, BX

ek_loop:
	CMPQ      BX, CX
	JGE       ek_done
	VMOVUPS   (SI)(BX*4), Y0
	VSUBPS    Y15, Y0, Y0
	EXP(Y0, Y1, Y2, Y3, Y4)
	VPMOVZXBD (R8)(BX*1), Y5
	VPSUBD    Y5, Y14, Y5
	VANDPS    Y5, Y3, Y3
	VMOVUPS   Y3, (DI)(BX*4)
	VADDPS    Y3, Y13, Y13
	ADDQ      $8, BX
	JMP       ek_loop

ek_done:
	VMOVAPS Y13, Y0
	HSUM8
	VZEROUPPER
	MOVSS X0, ret+40(FP)
	RET

// func expSumAVX2(out, x *float32, n int, shift float32) float64
// out[j] = e^(x[j]−shift), returning Σ out[j] accumulated in float64 (as
// CrossEntropyForward's vocabulary-long rows need). n is a multiple of 8.
TEXT ·expSumAVX2(SB), NOSPLIT, $0-40
	MOVQ         out+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS shift+24(FP), Y15
	VXORPD       Y12, Y12, Y12
	VXORPD       Y13, Y13, Y13
	XORQ         BX, BX

es_loop:
	CMPQ         BX, CX
	JGE          es_done
	VMOVUPS      (SI)(BX*4), Y0
	VSUBPS       Y15, Y0, Y0
	EXP(Y0, Y1, Y2, Y3, Y4)
	VMOVUPS      Y3, (DI)(BX*4)
	VCVTPS2PD    X3, Y5
	VEXTRACTF128 $1, Y3, X6
	VCVTPS2PD    X6, Y6
	VADDPD       Y5, Y12, Y12
	VADDPD       Y6, Y13, Y13
	ADDQ         $8, BX
	JMP          es_loop

es_done:
	VADDPD Y13, Y12, Y0
	HSUM4D
	VZEROUPPER
	MOVSD  X0, ret+32(FP)
	RET

// func maxAVX2(x *float32, n int) float32
// max of x[j], NaNs skipped (the caller's scalar tail decides what a NaN
// does); n is a positive multiple of 8.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS negInf<>(SB), Y0
	XORQ    BX, BX

mx_loop:
	CMPQ   BX, CX
	JGE    mx_done
	VMOVUPS (SI)(BX*4), Y1
	VMAXPS  Y0, Y1, Y0
	ADDQ    $8, BX
	JMP    mx_loop

mx_done:
	HMAX8
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// func scaleAVX2(x *float32, n int, s float32)
// x[j] *= s; n is a multiple of 8.
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y15
	XORQ         BX, BX

sc_loop:
	CMPQ    BX, CX
	JGE     sc_done
	VMULPS  (SI)(BX*4), Y15, Y0
	VMOVUPS Y0, (SI)(BX*4)
	ADDQ    $8, BX
	JMP     sc_loop

sc_done:
	VZEROUPPER
	RET

// func dotAVX2(a, b *float32, n int) float32
// Σ a[j]·b[j] in eight float32 lanes; n is a multiple of 8.
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DX
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	XORQ   BX, BX

dt_loop:
	CMPQ        BX, CX
	JGE         dt_done
	VMOVUPS     (SI)(BX*4), Y1
	VFMADD231PS (DX)(BX*4), Y1, Y0
	ADDQ        $8, BX
	JMP         dt_loop

dt_done:
	HSUM8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func softmaxBackwardAVX2(ds, dp, p *float32, n int, dot float32)
// ds[j] = p[j]·(dp[j] − dot); n is a multiple of 8; ds may alias dp.
TEXT ·softmaxBackwardAVX2(SB), NOSPLIT, $0-36
	MOVQ         ds+0(FP), DI
	MOVQ         dp+8(FP), SI
	MOVQ         p+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS dot+32(FP), Y15
	XORQ         BX, BX

sb_loop:
	CMPQ    BX, CX
	JGE     sb_done
	VMOVUPS (SI)(BX*4), Y0
	VSUBPS  Y15, Y0, Y0
	VMULPS  (DX)(BX*4), Y0, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     sb_loop

sb_done:
	VZEROUPPER
	RET

// func sumF64AVX2(x *float32, n int) float64
// Σ x[j] in float64, as LayerNorm's statistics; n is a multiple of 8.
TEXT ·sumF64AVX2(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	XORQ   BX, BX

s64_loop:
	CMPQ      BX, CX
	JGE       s64_done
	VCVTPS2PD (SI)(BX*4), Y0
	VCVTPS2PD 16(SI)(BX*4), Y1
	VADDPD    Y0, Y2, Y2
	VADDPD    Y1, Y3, Y3
	ADDQ      $8, BX
	JMP       s64_loop

s64_done:
	VADDPD Y3, Y2, Y0
	HSUM4D
	VZEROUPPER
	MOVSD  X0, ret+16(FP)
	RET

// func sumSqDevAVX2(x *float32, n int, mean float64) float64
// Σ (x[j]−mean)² in float64; n is a multiple of 8.
TEXT ·sumSqDevAVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD mean+16(FP), Y15
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	XORQ         BX, BX

ssd_loop:
	CMPQ        BX, CX
	JGE         ssd_done
	VCVTPS2PD   (SI)(BX*4), Y0
	VCVTPS2PD   16(SI)(BX*4), Y1
	VSUBPD      Y15, Y0, Y0
	VSUBPD      Y15, Y1, Y1
	VFMADD231PD Y0, Y0, Y2
	VFMADD231PD Y1, Y1, Y3
	ADDQ        $8, BX
	JMP         ssd_loop

ssd_done:
	VADDPD Y3, Y2, Y0
	HSUM4D
	VZEROUPPER
	MOVSD  X0, ret+24(FP)
	RET

// func layerNormAffineAVX2(out, x, w, b *float32, n int, mean, rstd float32)
// out[j] = (x[j]−mean)·rstd·w[j] + b[j]; n is a multiple of 8.
TEXT ·layerNormAffineAVX2(SB), NOSPLIT, $0-48
	MOVQ         out+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         w+16(FP), DX
	MOVQ         b+24(FP), R8
	MOVQ         n+32(FP), CX
	VBROADCASTSS mean+40(FP), Y14
	VBROADCASTSS rstd+44(FP), Y15
	XORQ         BX, BX

lna_loop:
	CMPQ        BX, CX
	JGE         lna_done
	VMOVUPS     (SI)(BX*4), Y0
	VSUBPS      Y14, Y0, Y0
	VMULPS      Y15, Y0, Y0
	VMOVUPS     (DX)(BX*4), Y1
	VFMADD213PS (R8)(BX*4), Y1, Y0
	VMOVUPS     Y0, (DI)(BX*4)
	ADDQ        $8, BX
	JMP         lna_loop

lna_done:
	VZEROUPPER
	RET

// func layerNormBackwardSumsAVX2(pw, pb, gr, x, w *float32, n int, mean, rstd float32) (sumD, sumDN float32)
// With norm = (x−mean)·rstd and dn = g·w: pw += g·norm, pb += g, and
// returns Σ dn and Σ dn·norm. n is a multiple of 8.
TEXT ·layerNormBackwardSumsAVX2(SB), NOSPLIT, $0-64
	MOVQ         pw+0(FP), DI
	MOVQ         pb+8(FP), R9
	MOVQ         gr+16(FP), SI
	MOVQ         x+24(FP), DX
	MOVQ         w+32(FP), R8
	MOVQ         n+40(FP), CX
	VBROADCASTSS mean+48(FP), Y14
	VBROADCASTSS rstd+52(FP), Y15
	VXORPS       Y10, Y10, Y10
	VXORPS       Y11, Y11, Y11
	XORQ         BX, BX

lbs_loop:
	CMPQ        BX, CX
	JGE         lbs_done
	VMOVUPS     (DX)(BX*4), Y0
	VSUBPS      Y14, Y0, Y0
	VMULPS      Y15, Y0, Y0
	VMOVUPS     (SI)(BX*4), Y1
	VMULPS      (R8)(BX*4), Y1, Y2
	VADDPS      Y2, Y10, Y10
	VFMADD231PS Y0, Y2, Y11
	VMOVUPS     (DI)(BX*4), Y3
	VFMADD231PS Y0, Y1, Y3
	VMOVUPS     Y3, (DI)(BX*4)
	VADDPS      (R9)(BX*4), Y1, Y4
	VMOVUPS     Y4, (R9)(BX*4)
	ADDQ        $8, BX
	JMP         lbs_loop

lbs_done:
	VMOVAPS Y10, Y0
	HSUM8
	MOVSS   X0, sumD+56(FP)
	VMOVAPS Y11, Y0
	HSUM8
	VZEROUPPER
	MOVSS   X0, sumDN+60(FP)
	RET

// func layerNormBackwardDxAVX2(dx, gr, x, w *float32, n int, mean, rstd, meanD, meanDN float32)
// dx[j] = rstd·(g[j]·w[j] − meanD − norm·meanDN); n is a multiple of 8.
TEXT ·layerNormBackwardDxAVX2(SB), NOSPLIT, $0-56
	MOVQ         dx+0(FP), DI
	MOVQ         gr+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         w+24(FP), R8
	MOVQ         n+32(FP), CX
	VBROADCASTSS mean+40(FP), Y12
	VBROADCASTSS rstd+44(FP), Y13
	VBROADCASTSS meanD+48(FP), Y14
	VBROADCASTSS meanDN+52(FP), Y15
	XORQ         BX, BX

lbd_loop:
	CMPQ         BX, CX
	JGE          lbd_done
	VMOVUPS      (DX)(BX*4), Y0
	VSUBPS       Y12, Y0, Y0
	VMULPS       Y13, Y0, Y0
	VMOVUPS      (SI)(BX*4), Y1
	VMULPS       (R8)(BX*4), Y1, Y1
	VSUBPS       Y14, Y1, Y1
	VFNMADD231PS Y15, Y0, Y1
	VMULPS       Y13, Y1, Y1
	VMOVUPS      Y1, (DI)(BX*4)
	ADDQ         $8, BX
	JMP          lbd_loop

lbd_done:
	VZEROUPPER
	RET
