//go:build amd64 && !purego

#include "textflag.h"

// func adamwAVX(p, grad, m, v *float32, n int, k *adamwConsts)
//
// Per number, as adamwScalar (Go operand order: destination last):
//   p ← p·decay
//   m ← b1·m + c1·g
//   v ← b2·v + (c2·g)·g
//   p ← p − (stepSize·m) / (√v·invBC2 + eps)
TEXT ·adamwAVX(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	VBROADCASTSS 0(AX), Y8   // decay
	VBROADCASTSS 4(AX), Y9   // b1
	VBROADCASTSS 8(AX), Y10  // c1
	VBROADCASTSS 12(AX), Y11 // b2
	VBROADCASTSS 16(AX), Y12 // c2
	VBROADCASTSS 20(AX), Y13 // stepSize
	VBROADCASTSS 24(AX), Y14 // invBC2
	VBROADCASTSS 28(AX), Y15 // eps
	XORQ BX, BX

loop:
	CMPQ BX, CX
	JGE  done
	VMOVUPS (SI)(BX*4), Y1       // g
	VMULPS  (DI)(BX*4), Y8, Y0   // p·decay
	VMULPS  (R8)(BX*4), Y9, Y2   // b1·m
	VMULPS  Y1, Y10, Y3          // c1·g
	VADDPS  Y3, Y2, Y2           // m
	VMOVUPS Y2, (R8)(BX*4)
	VMULPS  (R9)(BX*4), Y11, Y4  // b2·v
	VMULPS  Y1, Y12, Y5          // c2·g
	VMULPS  Y1, Y5, Y5           // (c2·g)·g
	VADDPS  Y5, Y4, Y4           // v
	VMOVUPS Y4, (R9)(BX*4)
	VSQRTPS Y4, Y6
	VMULPS  Y14, Y6, Y6          // √v·invBC2
	VADDPS  Y15, Y6, Y6          // + eps
	VMULPS  Y2, Y13, Y7          // stepSize·m
	VDIVPS  Y6, Y7, Y7           // / denom
	VSUBPS  Y7, Y0, Y0           // p − …
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     loop

done:
	VZEROUPPER
	RET
