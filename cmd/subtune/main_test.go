package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
)

// mainEnv makes the test binary run subtune's main with its arguments, so
// that tests can signal a real subtune process and read its exit status.
const mainEnv = "SUBTUNE_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		// Two commands that never finish on their own, to test Ctrl-C
		// itself: one that ignores its context, one marked graceful that
		// ignores it too (a second Ctrl-C must still end it).
		block := func(cmd *cobra.Command, args []string) error {
			fmt.Println("ready")
			select {}
		}
		root := newRootCmd()
		root.AddCommand(&cobra.Command{Use: "test-block", RunE: block})
		root.AddCommand(graceful(&cobra.Command{Use: "test-block-graceful", RunE: block}))
		os.Exit(execute(root))
	}
	os.Exit(m.Run())
}

// runRoot runs a fresh subtune command tree with args, as the binary does,
// returning stdout and stderr together.
func runRoot(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runRootIO(t, "", args...)
}

// runRootIO is runRoot with stdin.
func runRootIO(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// startSubtune starts subtune with args; ready is a line of its output
// (stdout or stderr) to wait for before the caller signals it.
type subtune struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	output chan string // every line of stdout and stderr
	lines  []string
}

func startSubtune(t *testing.T, args ...string) *subtune {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &subtune{cmd: cmd, stdin: stdin, output: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.output <- sc.Text()
		}
		close(s.output)
	}()
	go func() { cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return s
}

// waitFor reads output until a line contains want.
func (s *subtune) waitFor(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-s.output:
			if !ok {
				t.Fatalf("subtune ended before printing %q:\n%s", want, strings.Join(s.lines, "\n"))
			}
			s.lines = append(s.lines, line)
			if strings.Contains(line, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q within a minute:\n%s", want, strings.Join(s.lines, "\n"))
		}
	}
}

// exitCode waits for the end and returns the exit status and all output.
func (s *subtune) exitCode(t *testing.T) (int, string) {
	t.Helper()
	for line := range s.output {
		s.lines = append(s.lines, line)
	}
	var ee *exec.ExitError
	if err := s.cmd.Wait(); err != nil && !errors.As(err, &ee) && !strings.Contains(err.Error(), "Wait was already called") {
		t.Fatal(err)
	}
	return s.cmd.ProcessState.ExitCode(), strings.Join(s.lines, "\n")
}

// TestInterruptExits130: Ctrl-C ends every command with status 130 and
// SIGTERM with 143, as shells expect. Commands that stop cleanly do so first
// (the trainer saves a checkpoint, tokenize stops reading); others end at
// once; a second signal never waits.
func TestInterruptExits130(t *testing.T) {
	dir := testmodel.New(t, testmodel.Tiny(1), model.SequenceClassification, 1)
	finetune := func() []string {
		return []string{"finetune", "--model_name_or_path", dir, "--task_name", "sst2", "--do_train", "--output_dir", t.TempDir(),
			"--max_steps", "100000", "--per_device_train_batch_size", "2", "--max_seq_length", "16", "--threads", "1", "--logging_steps", "1"}
	}
	for _, tc := range []struct {
		name    string
		args    []string
		ready   string // a line that shows the work has started
		signal  syscall.Signal
		signals int
		status  int
		want    []string
	}{
		{"non-graceful command", []string{"test-block"}, "ready", syscall.SIGINT, 1, 130, []string{"subtune: interrupted"}},
		{"second Ctrl-C", []string{"test-block-graceful"}, "ready", syscall.SIGINT, 2, 130, []string{"stopping cleanly", "subtune: interrupted"}},
		{"tokenize waiting on stdin", []string{"tokenize", "--model_name_or_path", dir}, `"input_ids"`, syscall.SIGINT, 1, 130,
			[]string{"stopping cleanly", "subtune: stdin: line 2: context canceled"}},
		{"finetune", finetune(), "train step", syscall.SIGINT, 1, 130, []string{"stopping cleanly", "checkpoint saved in", "--resume"}},
		{"finetune, SIGTERM", finetune(), "train step", syscall.SIGTERM, 1, 143,
			[]string{"subtune: terminated: stopping cleanly (SIGTERM again quits at once)", "checkpoint saved in", "--resume"}},
		{"second SIGTERM", []string{"test-block-graceful"}, "ready", syscall.SIGTERM, 2, 143, []string{"stopping cleanly", "subtune: terminated"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSubtune(t, tc.args...)
			if tc.name == "tokenize waiting on stdin" {
				io.WriteString(s.stdin, "hello\n") // and keep stdin open
			}
			s.waitFor(t, tc.ready)
			for range tc.signals {
				if err := s.cmd.Process.Signal(tc.signal); err != nil {
					t.Fatal(err)
				}
				time.Sleep(200 * time.Millisecond)
			}
			code, out := s.exitCode(t)
			if code != tc.status {
				t.Errorf("exit status %d, want %d:\n%s", code, tc.status, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
