//go:build amd64 && !purego

#include "textflag.h"

// The counters 0, 1, 2, 3 of four consecutive groups of four elements.
DATA dropoutIota<>+0(SB)/8, $0
DATA dropoutIota<>+8(SB)/8, $1
DATA dropoutIota<>+16(SB)/8, $2
DATA dropoutIota<>+24(SB)/8, $3
GLOBL dropoutIota<>(SB), RODATA|NOPTR, $32

// func dropoutAVX512(out, x *float32, mask *uint8, n int, seed, base, threshold uint64, scale float32)
//
// DropoutAt's loop sixteen elements at a time, n a positive multiple of
// 16: the four splitmix64 hashes of four groups in one register, whose
// sixteen 16-bit words are the groups' uniforms in element order (little
// endian); kept where a uniform is at least the threshold. Bit for bit the
// scalar loop.
TEXT ·dropoutAVX512(SB), NOSPLIT, $0-60
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ mask+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ seed+32(FP), AX
	VPBROADCASTQ AX, Y8
	MOVQ base+40(FP), AX
	VPBROADCASTQ AX, Y9
	VPADDQ dropoutIota<>(SB), Y9, Y9 // counters of the four groups
	MOVQ threshold+48(FP), AX
	VPBROADCASTD AX, Z10
	VBROADCASTSS scale+56(FP), Z11
	MOVQ $0x9E3779B97F4A7C15, AX
	VPBROADCASTQ AX, Y12
	MOVQ $0xBF58476D1CE4E5B9, AX
	VPBROADCASTQ AX, Y13
	MOVQ $0x94D049BB133111EB, AX
	VPBROADCASTQ AX, Y14
	MOVQ $4, AX
	VPBROADCASTQ AX, Y15

loop:
	// splitmix64(seed + counter·golden)
	VPMULLQ Y12, Y9, Y0
	VPADDQ Y8, Y0, Y0
	VPADDQ Y12, Y0, Y0
	VPSRLQ $30, Y0, Y1
	VPXORQ Y1, Y0, Y0
	VPMULLQ Y13, Y0, Y0
	VPSRLQ $27, Y0, Y1
	VPXORQ Y1, Y0, Y0
	VPMULLQ Y14, Y0, Y0
	VPSRLQ $31, Y0, Y1
	VPXORQ Y1, Y0, Y0

	VPMOVZXWD Y0, Z1           // sixteen uniforms
	VPCMPUD $5, Z10, Z1, K1    // kept: uniform ≥ threshold
	VMOVUPS (SI), Z2
	VMULPS.Z Z11, Z2, K1, Z2   // x·scale, +0 where dropped
	VMOVUPS Z2, (DI)
	VPMOVM2B K1, X3            // 0xFF where kept
	VPABSB X3, X3              // 1 where kept
	VMOVDQU X3, (DX)

	VPADDQ Y15, Y9, Y9
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $16, DX
	SUBQ $16, CX
	JNZ loop
	VZEROUPPER
	RET

// func dropoutBackwardAVX512(dx, dout *float32, mask *uint8, n int, scale float32)
//
// DropoutBackwardAt's loop sixteen elements at a time, n a positive
// multiple of 16: dout·scale where the mask byte is set, +0 elsewhere.
TEXT ·dropoutBackwardAVX512(SB), NOSPLIT, $0-36
	MOVQ dx+0(FP), DI
	MOVQ dout+8(FP), SI
	MOVQ mask+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS scale+32(FP), Z11

backLoop:
	VMOVDQU (DX), X0
	VPTESTMB X0, X0, K1
	VMOVUPS (SI), Z2
	VMULPS.Z Z11, Z2, K1, Z2
	VMOVUPS Z2, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $16, DX
	SUBQ $16, CX
	JNZ backLoop
	VZEROUPPER
	RET
