package optim

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
)

// TestScheduleGolden: every schedule's learning rate at every step equals
// that of transformers' get_scheduler lambdas run by torch's LambdaLR
// (testdata/schedule_golden.py), past the end of the run included.
func TestScheduleGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/schedule_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Cases []struct {
			Type          string
			Warmup, Total int
			LR            float64
			LRs           []float64
		}
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range golden.Cases {
		s, err := NewSchedule(c.Type, c.Warmup, c.Total, c.LR)
		if err != nil {
			t.Fatalf("%s: %v", c.Type, err)
		}
		seen[c.Type] = true
		for step, want := range c.LRs {
			// Go's and C's cosines may differ in the last bit, which
			// 1 + cos near its minimum lifts to an absolute error of a
			// few ulps of 1 in the factor.
			if got := c.LR * s.Factor(step); math.Abs(got-want) > 1e-15*c.LR {
				t.Errorf("%s warmup %d total %d: lr at step %d = %v, want %v", c.Type, c.Warmup, c.Total, step, got, want)
			}
		}
	}
	for _, typ := range ScheduleTypes {
		if !seen[typ] {
			t.Errorf("the golden file has no case of %s", typ)
		}
	}
}

func TestCheckSchedule(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		lr   float64
		want string // "" for no error
	}{
		{"linear", 2e-5, ""},
		{"cosine", 2e-5, ""},
		{"polynomial", 2e-5, ""},
		{"polynomial", 1e-7, "--lr_scheduler_type polynomial decays to 1e-07: --learning_rate 1e-07 must be larger"},
		{"inverse_sqrt", 2e-5, "--lr_scheduler_type inverse_sqrt: not supported"},
		{"cosnie", 2e-5, `--lr_scheduler_type "cosnie": want one of linear, cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup`},
	} {
		err := CheckSchedule(tc.typ, tc.lr)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckSchedule(%q, %g) = %v, want %q", tc.typ, tc.lr, err, tc.want)
		}
	}
}
