package main

import (
	"errors"
	"reflect"
	"testing"

	"github.com/subtune/subtune/blas"
)

func TestKernelNotice(t *testing.T) {
	fast := &blas.Speedup{InUse: "Haswell", Faster: "SkylakeX", InUseGFLOPS: 100, FasterGFLOPS: 190, M: 256, N: 768, K: 768}
	even := &blas.Speedup{InUse: "Zen", Faster: "SkylakeX", InUseGFLOPS: 100, FasterGFLOPS: 104, M: 256, N: 768, K: 768}
	wrong := errors.New("rejected by the start-up check: SkylakeX kernels: sgemm …; using Haswell kernels, which pass")
	for _, tc := range []struct {
		name     string
		env      string
		fallback error
		s        *blas.Speedup
		err      error
		want     []string
	}{
		{name: "best family in use"},
		{name: "environment pins a slower family", env: "Haswell", s: fast, want: []string{
			"OPENBLAS_CORETYPE=Haswell selects Haswell kernels, but this CPU runs SkylakeX kernels 1.9× as fast " +
				"(190 against 100 GFLOP/s on one core, 256×768×768 sgemm, timed at start-up and checked; " +
				"go test ./blas -run '^$' -bench Families measures at length): set OPENBLAS_CORETYPE=SkylakeX to use them"}},
		{name: "OpenBLAS picks a slower family", s: fast, want: []string{
			"OpenBLAS chose Haswell kernels, but this CPU runs SkylakeX kernels 1.9× as fast " +
				"(190 against 100 GFLOP/s on one core, 256×768×768 sgemm, timed at start-up and checked; " +
				"go test ./blas -run '^$' -bench Families measures at length): set OPENBLAS_CORETYPE=SkylakeX to use them"}},
		{name: "within noise", env: "Zen", s: even},
		{name: "user's family wrong", env: "SkylakeX", fallback: wrong, want: []string{"OPENBLAS_CORETYPE=SkylakeX: " + wrong.Error()}},
		{name: "faster family wrong", env: "Haswell", err: errors.New("SkylakeX kernels: sgemm …"), want: []string{
			"the most capable family this CPU runs is not used: SkylakeX kernels: sgemm …"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kernelNotice(tc.env, tc.fallback, tc.s, tc.err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
