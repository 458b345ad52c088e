package dirlock

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/subtune/subtune/internal/testdir"
)

const childEnv = "DIRLOCK_TEST_CHILD"

// TestHolderChild holds the folder named by childEnv until killed; it is
// the other process of TestKillFreesLock.
func TestHolderChild(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestKillFreesLock")
	}
	if _, err := Acquire(dir); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("LOCKED\n")
	time.Sleep(time.Hour)
}

// TestKillFreesLock: a folder held by another process is refused with that
// process's pid; once the holder is killed with SIGKILL, the folder is free.
func TestKillFreesLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHolderChild$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "LOCKED" {
		t.Fatalf("child said %q", sc.Text())
	}
	_, err = Acquire(dir)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("second holder: err = %v, want ErrBusy", err)
	}
	for _, want := range []string{dir, "pid " + strconv.Itoa(cmd.Process.Pid)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	cmd.Process.Signal(unix.SIGKILL)
	cmd.Wait()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, FileName)); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q, want this pid", b)
	}
	l.Release()
}

// TestAcquireRelease: one holder at a time within a process too (two
// goroutines running into one folder), and Release leaves nothing behind.
func TestAcquireRelease(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(dir); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second Acquire: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l.Release() // a second Release is a no-op
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
	l, err = Acquire(dir)
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	l.Release()
}

// TestUnwritable: a folder that cannot be written is refused by Acquire,
// naming it, before any work.
func TestUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"read-only folder", func(t *testing.T) string { return testdir.ReadOnly(t) }},
		{"below a file", func(*testing.T) string { return filepath.Join(file, "run") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			l, err := Acquire(dir)
			if err == nil {
				l.Release()
				t.Fatalf("Acquire(%s) succeeded", dir)
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name %s", err, dir)
			}
			t.Log(err)
		})
	}
}
