//go:build nodnnl || !cgo || purego

package blas

import (
	"errors"
	"testing"
)

func TestGemmBF16WithoutOneDNN(t *testing.T) {
	c := []float32{5}
	err := GemmBF16(false, false, 1, 1, 1, 1, []float32{2}, 1, []float32{3}, 1, 0, c, 1)
	if !errors.Is(err, ErrNoBF16Build) || c[0] != 5 {
		t.Errorf("GemmBF16 = %v with C = %g, want ErrNoBF16Build and C untouched", err, c[0])
	}
}
