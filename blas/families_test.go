package blas

import (
	"errors"
	"slices"
	"testing"
)

func TestFallbacks(t *testing.T) {
	for _, tc := range []struct {
		failed string
		cpu    int
		want   []string
	}{
		{"SkylakeX", 3, []string{"Haswell", "Sandybridge", "Prescott"}},
		{"Cooperlake", 3, []string{"SkylakeX", "Haswell", "Sandybridge", "Prescott"}},
		{"Haswell", 3, []string{"Sandybridge", "Prescott"}},
		{"haswell", 3, []string{"Sandybridge", "Prescott"}},
		{"Zen", 2, []string{"Haswell", "Sandybridge", "Prescott"}},
		{"Nehalem", 2, []string{"Haswell", "Sandybridge", "Prescott"}}, // not on the ladder: everything this CPU runs
		{"Prescott", 3, nil},
		{"SkylakeX", 1, []string{"Sandybridge", "Prescott"}}, // never a family the CPU cannot run
		{"Haswell", -1, nil},
	} {
		if got := fallbacks(tc.failed, tc.cpu); !slices.Equal(got, tc.want) {
			t.Errorf("fallbacks(%s, %d) = %v, want %v", tc.failed, tc.cpu, got, tc.want)
		}
	}
}

func TestChooseFamily(t *testing.T) {
	wrong := errors.New("wrong product")
	for _, tc := range []struct {
		name     string
		bad      []string // families whose check fails
		absent   []string // families use cannot switch to
		want     string
		rejected []string
	}{
		{name: "first passes", want: "SkylakeX"},
		{name: "first wrong", bad: []string{"SkylakeX"}, want: "Haswell", rejected: []string{"SkylakeX"}},
		{name: "two wrong, one absent", bad: []string{"SkylakeX", "Haswell"}, absent: []string{"Sandybridge"},
			want: "Prescott", rejected: []string{"SkylakeX", "Haswell", "Sandybridge"}},
		{name: "all wrong", bad: []string{"SkylakeX", "Haswell", "Sandybridge", "Prescott"},
			want: "", rejected: []string{"SkylakeX", "Haswell", "Sandybridge", "Prescott"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			current := ""
			use := func(f string) error {
				if slices.Contains(tc.absent, f) {
					return errors.New("not in this build")
				}
				current = f
				return nil
			}
			check := func() error {
				if slices.Contains(tc.bad, current) {
					return wrong
				}
				return nil
			}
			got, errs := chooseFamily([]string{"SkylakeX", "Haswell", "Sandybridge", "Prescott"}, use, check)
			if got != tc.want {
				t.Errorf("chose %q, want %q", got, tc.want)
			}
			var names []string
			for _, err := range errs {
				var fe *FamilyError
				if !errors.As(err, &fe) {
					t.Fatalf("%v is not a *FamilyError", err)
				}
				if slices.Contains(tc.bad, fe.Family) && !errors.Is(err, wrong) {
					t.Errorf("%v does not wrap the check's error", err)
				}
				names = append(names, fe.Family)
			}
			if !slices.Equal(names, tc.rejected) {
				t.Errorf("rejected %v, want %v", names, tc.rejected)
			}
		})
	}
}
