package pretrain

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/subtune/subtune/dirlock"
	"github.com/subtune/subtune/internal/testdir"
)

// TestRunOutputFolder: a folder another run holds, or one that cannot be
// written, is refused at the start, naming it, before any step.
func TestRunOutputFolder(t *testing.T) {
	corpus := writeTestCorpus(t, t.TempDir())
	for _, tc := range []struct {
		name   string
		folder func(t *testing.T) string
		want   func(t *testing.T, dir string, err error)
	}{
		{"held by a live run", func(t *testing.T) string {
			dir := t.TempDir()
			l, err := dirlock.Acquire(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Release() })
			return dir
		}, func(t *testing.T, dir string, err error) {
			if !errors.Is(err, dirlock.ErrBusy) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
				t.Errorf("err = %v, want dirlock.ErrBusy with this pid", err)
			}
		}},
		{"read-only", func(t *testing.T) string { return testdir.ReadOnly(t) }, func(t *testing.T, dir string, err error) {
			if !strings.Contains(err.Error(), "cannot be written") {
				t.Errorf("err = %v, want \"cannot be written\"", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.folder(t)
			o := testOptions(corpus, dir, 4)
			steps := 0
			o.afterStep = func() { steps++ }
			err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), dir) {
				t.Fatalf("err = %v, want an error naming %s", err, dir)
			}
			tc.want(t, dir, err)
			if steps > 0 {
				t.Errorf("%d steps trained", steps)
			}
			t.Log(err)
		})
	}
}
