//go:build cgo && !purego

package blas

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSwitchFamilies switches to every family of the ladder this CPU runs,
// checks its products, and comes back: what MeasureFaster, the start-up
// fallback and BenchmarkFamilies rely on.
func TestSwitchFamilies(t *testing.T) {
	coreMu.Lock()
	defer coreMu.Unlock()
	orig := openblasCore()
	defer func() {
		if err := switchCore(orig); err != nil {
			t.Fatal(err)
		}
	}()
	for _, f := range ladder[:cpuLevel()+1] {
		if err := switchCore(f); err != nil {
			t.Fatal(err)
		}
		if err := checkKernels(openblasSgemm, openblasSgemvT); err != nil {
			t.Errorf("%s kernels: %v", f, err)
		}
	}
}

// TestSelectKernelsFallsBack runs the start-up selection with a check that
// rejects the family in use, as if its kernels computed wrong products, and
// as if the CPU lacked its instructions: the next family down must replace
// it, and the reason must be kept.
func TestSelectKernelsFallsBack(t *testing.T) {
	coreMu.Lock()
	defer coreMu.Unlock()
	orig := openblasCore()
	defer func() {
		if err := switchCore(orig); err != nil {
			t.Fatal(err)
		}
	}()
	level := cpuLevel()
	corrupted := errors.New("corrupted product")
	for _, tc := range []struct {
		name   string
		level  int
		bad    func(f string) bool
		want   string // "" for gonum
		reason string
	}{
		{"family in use wrong", level, func(f string) bool { return f == orig },
			firstOr(fallbacks(orig, level), ""), orig + " kernels: corrupted product"},
		{"every family wrong", level, func(string) bool { return true },
			"", orig + " kernels: corrupted product"},
		{"instructions missing", familyLevel(orig) - 1, func(string) bool { return false },
			firstOr(fallbacks(orig, familyLevel(orig)-1), ""), orig + " kernels: need " + ladderISA[max(familyLevel(orig), 0)]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := switchCore(orig); err != nil {
				t.Fatal(err)
			}
			s := selectKernels(tc.level, func() error {
				if tc.bad(openblasCore()) {
					return corrupted
				}
				return checkKernels(openblasSgemm, openblasSgemvT)
			})
			if len(s.rejected) == 0 || s.fallback == nil {
				t.Fatalf("%s kept although it failed", orig)
			}
			t.Log(s.fallback)
			if !strings.Contains(s.fallback.Error(), tc.reason) {
				t.Errorf("fallback %v does not say why %s was replaced (%s)", s.fallback, orig, tc.reason)
			}
			if tc.want == "" {
				if !s.pureGo || !strings.Contains(s.fallback.Error(), "gonum") {
					t.Errorf("pureGo %v, fallback %v: want gonum's kernels", s.pureGo, s.fallback)
				}
				return
			}
			if got := openblasCore(); got != tc.want || s.pureGo {
				t.Errorf("%s kernels in use (pureGo %v), want %s", got, s.pureGo, tc.want)
			}
			if !strings.Contains(s.fallback.Error(), "using "+tc.want+" kernels") {
				t.Errorf("fallback %v does not name %s", s.fallback, tc.want)
			}
		})
	}
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

func TestMeasureFaster(t *testing.T) {
	before := CoreName()
	s, err := MeasureFaster()
	if after := CoreName(); after != before {
		t.Fatalf("MeasureFaster left %s kernels in use, not %s", after, before)
	}
	if err != nil {
		t.Fatal(err)
	}
	if familyLevel(before) >= cpuLevel() {
		if s != nil {
			t.Fatalf("%s is this CPU's most capable family, yet MeasureFaster compared it with %s", before, s.Faster)
		}
		return
	}
	if s == nil || s.InUse != before || s.Faster != ladder[cpuLevel()] || !(s.InUseGFLOPS > 0 && s.FasterGFLOPS > 0) {
		t.Fatalf("MeasureFaster() = %+v with %s kernels in use", s, before)
	}
	t.Logf("%s %.0f GFLOP/s, %s %.0f GFLOP/s on one core", s.InUse, s.InUseGFLOPS, s.Faster, s.FasterGFLOPS)
}

func TestDescribe(t *testing.T) {
	if d := Describe(); !strings.HasPrefix(d, "OpenBLAS 0.") || !strings.Contains(d, CoreName()+" kernels, ") {
		t.Errorf("Describe() = %q", d)
	}
}

// BenchmarkFamilies times BenchmarkSgemm's product with the kernel family in
// use and with every family from Haswell up that this CPU runs, switching
// family in-process before each product, so that a background load weighs
// on every family alike. Each reports its mean GFLOP/s and, as "best", that
// of its fastest product: on a shared machine, the one least disturbed.
// threads=1 is one core.
func BenchmarkFamilies(b *testing.B) {
	orig := CoreName()
	families := []string{orig}
	for l := cpuLevel(); l >= 2; l-- {
		if !strings.EqualFold(ladder[l], orig) {
			families = append(families, ladder[l])
		}
	}
	use := func(f string) {
		coreMu.Lock()
		defer coreMu.Unlock()
		if err := switchCore(f); err != nil {
			b.Fatal(err)
		}
		if err := checkKernels(openblasSgemm, openblasSgemvT); err != nil {
			b.Fatalf("%s kernels: %v", f, err)
		}
	}
	defer use(orig)
	m, n, k := benchM, benchN, benchK
	rng := rand.New(rand.NewPCG(1, 2))
	x, w, y := randSlice(rng, m*k), randSlice(rng, n*k), make([]float32, m*n)
	for _, t := range slices.Compact([]int{1, runtime.NumCPU()}) {
		b.Run(fmt.Sprintf("threads=%d", t), func(b *testing.B) {
			defer SetThreads(Threads())
			SetThreads(t)
			elapsed, fastest := make([]time.Duration, len(families)), make([]time.Duration, len(families))
			for b.Loop() {
				for i, f := range families {
					use(f)
					start := time.Now()
					Sgemm(false, true, m, n, k, 1, x, k, w, k, 0, y, n)
					d := time.Since(start)
					elapsed[i] += d
					if fastest[i] == 0 || d < fastest[i] {
						fastest[i] = d
					}
				}
			}
			b.ReportMetric(0, "ns/op") // the sum over families: meaningless
			flops := GemmFlops(m, n, k)
			for i, f := range families {
				b.ReportMetric(flops*float64(b.N)/elapsed[i].Seconds()/1e9, f+"-GFLOP/s")
				b.ReportMetric(flops/fastest[i].Seconds()/1e9, f+"-best-GFLOP/s")
			}
			use(orig)
			b.Logf("%s in use; %d×%d×%d x·Wᵀ with each of %s in turn", Describe(), m, n, k, strings.Join(families, ", "))
		})
	}
}
