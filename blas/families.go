package blas

import (
	"fmt"
	"strings"

	"golang.org/x/sys/cpu"
)

// ladder is the x86-64 kernel families subtune itself selects, indexed by
// the instruction set they need (see cpuLevel). OpenBLAS has more; these are
// the ones its dynamic builds fall back on.
var ladder = []string{"Prescott", "Sandybridge", "Haswell", "SkylakeX"}

// ladderISA names the instructions each family of the ladder needs.
var ladderISA = []string{"SSE3", "AVX", "AVX2 and FMA", "AVX-512 (F, BW, VL, DQ)"}

// cpuLevel is the index in ladder of the most capable family this CPU and
// operating system can run, -1 off x86-64.
func cpuLevel() int {
	x := cpu.X86
	switch {
	case !x.HasSSE3:
		return -1
	case x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL && x.HasAVX512DQ:
		return 3
	case x.HasAVX2 && x.HasFMA:
		return 2
	case x.HasAVX:
		return 1
	}
	return 0
}

// familyLevel places a family OpenBLAS names on the ladder. Zen runs
// Haswell's sgemm kernels and Cooperlake SkylakeX's, so they share their
// levels; -1 for families off the ladder.
func familyLevel(name string) int {
	switch strings.ToLower(name) {
	case "prescott":
		return 0
	case "sandybridge":
		return 1
	case "haswell", "zen":
		return 2
	case "skylakex", "cooperlake", "sapphirerapids":
		return 3
	}
	return -1
}

// fallbacks is the order in which families replace one that computed wrong
// products: those this CPU runs, no more capable than the failed one (older
// kernels are the better tested), most capable first.
func fallbacks(failed string, cpu int) []string {
	top := cpu
	if l := familyLevel(failed); l >= 0 && l < top {
		top = l
	}
	var fs []string
	for l := top; l >= 0; l-- {
		if !strings.EqualFold(ladder[l], failed) {
			fs = append(fs, ladder[l])
		}
	}
	return fs
}

// chooseFamily switches to each of families in turn with use until check
// accepts one, and returns it with the errors of those rejected on the way;
// "" when none passes.
func chooseFamily(families []string, use func(string) error, check func() error) (string, []error) {
	var rejected []error
	for _, f := range families {
		err := use(f)
		if err == nil {
			if err = check(); err == nil {
				return f, rejected
			}
		}
		rejected = append(rejected, &FamilyError{Family: f, Err: err})
	}
	return "", rejected
}

// FamilyError is a kernel family that could not be used: it computed a wrong
// product in the start-up check, needs instructions the CPU lacks, or
// OpenBLAS would not switch to it.
type FamilyError struct {
	Family string
	Err    error
}

func (e *FamilyError) Error() string { return e.Family + " kernels: " + e.Err.Error() }
func (e *FamilyError) Unwrap() error { return e.Err }

// Speedup compares, on one core, the kernel family in use with a faster one
// this CPU runs and that passes the start-up check.
type Speedup struct {
	InUse, Faster             string
	InUseGFLOPS, FasterGFLOPS float64
	M, N, K                   int // the product timed: x·Wᵀ, x M×K, W N×K
}

// Ratio is how many times as fast the faster family is.
func (s *Speedup) Ratio() float64 { return s.FasterGFLOPS / s.InUseGFLOPS }

// threadCount is "1 thread" or "n threads" for the description.
func threadCount() string {
	if threads == 1 {
		return "1 thread"
	}
	return fmt.Sprintf("%d threads", threads)
}
