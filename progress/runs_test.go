package progress

import (
	"strings"
	"testing"
	"time"
)

// TestRuns: the count and the estimate of the time left, which only runs
// that train take into account.
func TestRuns(t *testing.T) {
	var log strings.Builder
	r := NewRuns(&log)
	r.Plan(4, 3, true)
	r.Begin("a", true)
	r.End(true, 0)
	r.Begin("b", false)
	r.End(false, 10*time.Second)
	r.Plan(3, 2, false) // re-planned once the first runs are known
	r.Begin("c", false)
	r.End(false, 30*time.Second)
	r.Begin("d", false)
	r.End(false, time.Second)
	r.Begin("e", true)
	want := strings.Join([]string{
		"== a (run 1 of ~4, cached; 3 to train)",
		"== b (run 2 of ~4, 3 to train, ETA after the first)",
		"== c (run 3 of 5, 2 to train, ETA 20s)",
		"== d (run 4 of 5, 1 to train, ETA 20s)",
		"== e (run 5 of 5, nothing left to train)",
	}, "\n") + "\n"
	if log.String() != want {
		t.Errorf("log:\n%s\nwant:\n%s", log.String(), want)
	}
}

func TestRoundETA(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{
		{1400 * time.Millisecond, time.Second},
		{9*time.Minute + 59*time.Second, 9*time.Minute + 59*time.Second},
		{83*time.Minute + 20*time.Second, 83 * time.Minute},
		{83*time.Minute + 40*time.Second, 84 * time.Minute},
	} {
		if got := RoundETA(tc.in); got != tc.want {
			t.Errorf("RoundETA(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
