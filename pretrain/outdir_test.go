package pretrain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/subtune/subtune/dirlock"
	"github.com/subtune/subtune/internal/testdir"
	"github.com/subtune/subtune/trainer"
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

// TestRunResumeDamagedCheckpoint: --resume refuses a checkpoint whose
// weights changed after they were written, naming the file and offering
// the previous intact checkpoint.
func TestRunResumeDamagedCheckpoint(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(writeTestCorpus(t, t.TempDir()), dir, 6)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	steps := 0
	o.afterStep = func() {
		if steps++; steps == 5 {
			cancel()
		}
	}
	if err := Run(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	weights := filepath.Join(dir, "checkpoint-5", "model.safetensors")
	b, err := os.ReadFile(weights)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x10
	if err := os.WriteFile(weights, b, 0o644); err != nil {
		t.Fatal(err)
	}
	o.afterStep, o.Resume = nil, true
	err = Run(context.Background(), o)
	if !errors.Is(err, trainer.ErrDamaged) {
		t.Fatalf("err = %v, want trainer.ErrDamaged", err)
	}
	for _, want := range []string{weights, "previous intact checkpoint is " + filepath.Join(dir, "checkpoint-3")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
