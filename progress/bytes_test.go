package progress

import (
	"regexp"
	"strings"
	"testing"
)

// TestBytes: off a terminal, the announcement and the final count, the
// rate left out of the comparison.
func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		from int64
		ok   bool
		want string
	}{
		{"complete", 0, true, "downloading w (12.5 MB)\n  w: 12.5 MB / 12.5 MB (100%), R/s\n"},
		{"failed", 0, false, "downloading w (12.5 MB)\n"},
		{"resumed", 5_000_000, true, "downloading w (12.5 MB, resuming at 5.0 MB)\n  w: 12.5 MB / 12.5 MB (100%), R/s\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			b := NewBytes(&out, "w", 12_500_000, tc.from)
			for range (12_500_000 - tc.from) / 2_500_000 {
				if n, err := b.Write(make([]byte, 2_500_000)); n != 2_500_000 || err != nil {
					t.Fatalf("Write: %d, %v", n, err)
				}
			}
			b.Finish(tc.ok)
			got := regexp.MustCompile(`[0-9.]+ MB/s`).ReplaceAllString(out.String(), "R/s")
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
