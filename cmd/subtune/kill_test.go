package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
)

// The kill test's knobs: SUBTUNE_KILL_SOAK=N delivers N kills instead of
// killsInTest (a long soak), SUBTUNE_KILL_SEED picks the random delays.
const (
	killsInTest = 6
	killSoakEnv = "SUBTUNE_KILL_SOAK"
	killSeedEnv = "SUBTUNE_KILL_SEED"
)

// TestKillAnywhere SIGKILLs `subtune finetune` at random moments, many
// times, resuming it with --resume after each kill until it finishes. The
// run saves a checkpoint after every step and the trajectory after every
// other, so most kills land in a write. Each finished run must have the
// uninterrupted run's final model, losses and trajectory, bit for bit, and
// exactly its files: no temporary file or folder, no half-deleted
// checkpoint.
func TestKillAnywhere(t *testing.T) {
	kills, seed := killsInTest, uint64(1)
	if s := os.Getenv(killSoakEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number of kills", killSoakEnv, s)
		}
		kills = n
	}
	if s := os.Getenv(killSeedEnv); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a number", killSeedEnv, s)
		}
		seed = n
	}
	modelDir := testmodel.New(t, testmodel.Tiny(1), model.NoHead, 1)
	args := func(out string) []string {
		return []string{"finetune", "--model_name_or_path", modelDir, "--task_name", "sst2", "--do_train",
			"--max_train_samples", "48", "--per_device_train_batch_size", "8", "--max_seq_length", "32",
			"--num_train_epochs", "2", "--learning_rate", "3e-3", "--logging_steps", "1", "--threads", "2",
			"--save_steps", "1", "--save_trajectory", "steps:2", "--output_dir", out, "--resume"}
	}

	refDir := filepath.Join(t.TempDir(), "ref")
	start := time.Now()
	if out, err := subtuneCmd(args(refDir)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	span := time.Since(start)
	ref := snapshot(t, refDir)

	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d: %d kills at random moments of a %v run", seed, kills, span.Round(time.Millisecond))
	killed, inWrite := 0, 0
	defer func() { t.Logf("%d of %d kills interrupted a write (left a temporary behind)", inWrite, killed) }()
	for round := 1; killed < kills || round == 1; round++ {
		out := filepath.Join(t.TempDir(), fmt.Sprintf("run%d", round))
		var delays []string
		for attempt := 1; ; attempt++ {
			if attempt > 100 {
				t.Fatalf("seed %d round %d: no end after 100 attempts (delays %v)", seed, round, delays)
			}
			began := time.Now()
			cmd := subtuneCmd(args(out)...)
			var log bytes.Buffer
			cmd.Stdout, cmd.Stderr = &log, &log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var timer <-chan time.Time // nil once every kill is delivered: run to the end
			delay := time.Duration(rng.Float64() * float64(span))
			if killed < kills {
				timer = time.After(delay)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("seed %d round %d attempt %d: %v\n%s", seed, round, attempt, err, log.String())
				}
			case <-timer:
				cmd.Process.Kill() // SIGKILL
				<-done
				killed++
				delays = append(delays, delay.Round(time.Millisecond).String())
				if len(temporaries(t, out)) > 0 {
					inWrite++
				}
				continue
			}
			if attempt == 1 {
				// Kill within the time a whole run takes now: the
				// machine's load changes it.
				span = time.Since(began)
			}
			break // finished
		}
		t.Logf("round %d: finished after kills %v into each attempt", round, delays)
		if diff := compareRuns(ref, snapshot(t, out)); diff != "" {
			t.Fatalf("seed %d round %d (kills at %v): %s", seed, round, delays, diff)
		}
	}
}

// subtuneCmd returns the command running subtune with args: this test binary,
// which runs main when mainEnv is set.
func subtuneCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	return cmd
}

// runSnapshot is what of a finished run must not depend on interruptions.
type runSnapshot struct {
	files  []string          // every file and folder, relative to the output folder
	hashes map[string]string // the final model's and the trajectory files' SHA-256
	losses []float64         // the logged training losses
}

func snapshot(t *testing.T, dir string) runSnapshot {
	t.Helper()
	s := runSnapshot{hashes: map[string]string{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		s.files = append(s.files, rel)
		if rel == "model.safetensors" || strings.HasPrefix(rel, "trajectory"+string(filepath.Separator)) && !d.IsDir() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			s.hashes[rel] = hex.EncodeToString(sum[:])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "trainer_state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		LogHistory []map[string]float64 `json:"log_history"`
	}
	if err := json.Unmarshal(data, &state); err != nil {
		t.Fatal(err)
	}
	for _, l := range state.LogHistory {
		if v, ok := l["loss"]; ok {
			s.losses = append(s.losses, v)
		}
	}
	return s
}

// temporaries lists the temporary files and folders under dir.
func temporaries(t *testing.T, dir string) []string {
	var tmp []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if atomicfile.IsTemp(d.Name()) || strings.HasPrefix(d.Name(), ".tmp-") {
			tmp = append(tmp, path)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return tmp
}

// compareRuns describes how a run differs from the reference, or is "".
func compareRuns(ref, got runSnapshot) string {
	var msgs []string
	for _, f := range got.files {
		if !slices.Contains(ref.files, f) {
			msgs = append(msgs, "left behind: "+f)
		}
	}
	for _, f := range ref.files {
		if !slices.Contains(got.files, f) {
			msgs = append(msgs, "missing: "+f)
		}
	}
	for f, h := range ref.hashes {
		if got.hashes[f] != h {
			msgs = append(msgs, "differs from the uninterrupted run's: "+f)
		}
	}
	if len(ref.hashes) < 4 {
		msgs = append(msgs, fmt.Sprintf("the uninterrupted run wrote only %v", ref.files))
	}
	if !slices.Equal(got.losses, ref.losses) {
		msgs = append(msgs, fmt.Sprintf("losses differ:\n%v\n%v", got.losses, ref.losses))
	}
	return strings.Join(msgs, "\n")
}
