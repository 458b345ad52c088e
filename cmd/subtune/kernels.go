package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/subtune/subtune/blas"
)

// minSpeedup is the measured advantage of a faster kernel family worth a
// notice: less is within the timing noise of a shared machine.
const minSpeedup = 1.1

// kernelNotices is measured once per process: the comparison costs tens of
// milliseconds, and only when a slower family is in use.
var kernelNotices = sync.OnceValue(func() []string {
	s, err := blas.MeasureFaster()
	return kernelNotice(os.Getenv("OPENBLAS_CORETYPE"), blas.Fallback(), s, err)
})

// logKernels writes, at the start of a run, what the user should know about
// the GEMM kernels: that the start-up check replaced a family, or that the
// CPU runs a faster one than the environment selects, what that costs and
// how to change it.
func logKernels(w io.Writer) {
	for _, n := range kernelNotices() {
		fmt.Fprintln(w, "kernels:", n)
	}
}

// kernelNotice words what blas reports: env is OPENBLAS_CORETYPE, fallback
// blas.Fallback(), s and err blas.MeasureFaster()'s results.
func kernelNotice(env string, fallback error, s *blas.Speedup, err error) []string {
	var notes []string
	setting := ""
	if env != "" {
		setting = "OPENBLAS_CORETYPE=" + env + ": "
	}
	if fallback != nil {
		notes = append(notes, setting+fallback.Error())
	}
	switch {
	case err != nil:
		notes = append(notes, fmt.Sprintf("the most capable family this CPU runs is not used: %v", err))
	case s != nil && s.Ratio() >= minSpeedup:
		chose := "OpenBLAS chose " + s.InUse + " kernels"
		if env != "" {
			chose = "OPENBLAS_CORETYPE=" + env + " selects " + s.InUse + " kernels"
		}
		notes = append(notes, fmt.Sprintf("%s, but this CPU runs %s kernels %.1f× as fast "+
			"(%.0f against %.0f GFLOP/s on one core, %d×%d×%d sgemm, timed at start-up and checked; "+
			"go test ./blas -run '^$' -bench Families measures at length): set OPENBLAS_CORETYPE=%s to use them",
			chose, s.Faster, s.Ratio(), s.FasterGFLOPS, s.InUseGFLOPS, s.M, s.N, s.K, s.Faster))
	}
	return notes
}
