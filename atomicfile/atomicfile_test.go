package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// entries lists the directory, so tests can assert no temp file is left.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestWriteFileCreates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.bin")
	err := WriteFile(path, func(w io.Writer) error {
		_, err := io.WriteString(w, "hello")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "hello" {
		t.Fatalf("got %q, %v", got, err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", st.Mode().Perm())
	}
	if e := entries(t, dir); len(e) != 1 {
		t.Errorf("dir has %v, want only out.bin", e)
	}
}

func TestWriteFileReplacesKeepingMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, func(w io.Writer) error { _, err := w.Write([]byte("new content")); return err }); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "new content" {
		t.Fatalf("got %q", got)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600 preserved", st.Mode().Perm())
	}
}

// failingWriter writes more than the buffer size (so real bytes hit the temp
// file) and then fails.
func failMidway(w io.Writer) error {
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for i := 0; i < 3*bufSize/len(chunk); i++ {
		if _, err := w.Write(chunk); err != nil {
			return err
		}
	}
	return errors.New("boom")
}

func TestWriteFileFailMidwayNoFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	err := WriteFile(path, failMidway)
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want boom naming %s", err, path)
	}
	if e := entries(t, dir); len(e) != 0 {
		t.Fatalf("dir not empty after failed write: %v", e)
	}
}

func TestWriteFileFailMidwayKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	os.WriteFile(path, []byte("precious"), 0o644)
	if err := WriteFile(path, failMidway); err == nil {
		t.Fatal("expected error")
	}
	got, _ := os.ReadFile(path)
	if string(got) != "precious" {
		t.Fatalf("old file changed: %q", got)
	}
	if e := entries(t, dir); len(e) != 1 {
		t.Fatalf("temp file left: %v", e)
	}
}

func TestWriteFilePanicRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic did not propagate")
			}
		}()
		WriteFile(path, func(w io.Writer) error {
			w.Write([]byte("partial"))
			panic("kaboom")
		})
	}()
	if e := entries(t, dir); len(e) != 0 {
		t.Fatalf("dir not empty after panic: %v", e)
	}
}

func TestDiskFullError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	err := WriteFile(path, func(w io.Writer) error {
		return fmt.Errorf("flush: %w", syscall.ENOSPC)
	})
	if !errors.Is(err, ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v; want ErrDiskFull and ENOSPC", err)
	}
	if !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %q; want it to say disk full and name %s", err, path)
	}
	if e := entries(t, dir); len(e) != 0 {
		t.Fatalf("dir not empty: %v", e)
	}
	// A real write error from the file is wrapped the same way.
	werr := wrapErr(path, "write", &os.PathError{Op: "write", Path: "tmp", Err: syscall.ENOSPC})
	if !errors.Is(werr, ErrDiskFull) || !strings.Contains(werr.Error(), path) {
		t.Fatalf("wrapErr = %v", werr)
	}
	if again := wrapErr(path, "write", werr); again != werr {
		t.Fatalf("double wrapped: %v", again)
	}
}

func TestWriteFileErrors(t *testing.T) {
	dir := t.TempDir()
	noop := func(io.Writer) error { return nil }
	if err := WriteFile(filepath.Join(dir, "missing", "f"), noop); err == nil {
		t.Error("missing directory: want error")
	}
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	if err := WriteFile(sub, noop); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory destination: err = %v", err)
	}
}

func TestWriteJSON(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.json")
	v := map[string]any{"b": []int{1, 2}, "a": "x<y"}
	if err := WriteJSON(path, v); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "{\n  \"a\": \"x<y\",\n  \"b\": [\n    1,\n    2\n  ]\n}\n"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if err := WriteJSON(filepath.Join(dir, "bad.json"), map[string]any{"c": make(chan int)}); err == nil {
		t.Fatal("unencodable value: want error")
	}
	if e := entries(t, dir); len(e) != 1 {
		t.Fatalf("dir = %v, want only m.json", e)
	}
}

func TestPending(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p")
	p, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("abc"))
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("destination visible before Commit")
	}
	p.Abort()
	p.Abort()
	if e := entries(t, dir); len(e) != 0 {
		t.Fatalf("after Abort: %v", e)
	}
	if err := p.Commit(); err == nil {
		t.Fatal("Commit after Abort: want error")
	}

	p, _ = Create(path)
	p.Write([]byte("abc"))
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	p.Abort() // no-op
	if got, _ := os.ReadFile(path); string(got) != "abc" {
		t.Fatalf("got %q", got)
	}
	if _, err := p.Write([]byte("x")); err == nil {
		t.Fatal("Write after Commit: want error")
	}
}

// TestReadersNeverSeePartial rewrites a file between two large contents
// while readers check they always see one of them whole.
func TestReadersNeverSeePartial(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	a := bytes.Repeat([]byte("A"), 3<<20)
	b := bytes.Repeat([]byte("B"), 2<<20+7)
	write := func(data []byte) {
		if err := WriteFile(path, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
			t.Error(err)
		}
	}
	write(a)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
				t.Errorf("reader saw a partial file of %d bytes", len(got))
				return
			}
		}
	}()
	for i := 0; i < 10; i++ {
		write(b)
		write(a)
	}
	close(stop)
	wg.Wait()
}

// TestRemoveTemps: the temporary file of a write that never finished (as
// when its process is killed) is removed; nothing else is.
func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	p, err := Create(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("half"))
	keep := []string{".hidden", ".tmp-checkpoint-12", "a.tmp-1", ".b.tmp-", ".c.tmp-x1", "model.safetensors.tmp-1", "plain"}
	for _, name := range keep {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".d.tmp-5"), 0o755); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, ".d.tmp-5") // a folder: not a file atomicfile writes
	if len(entries(t, dir)) != len(keep)+1 {
		t.Fatalf("no temporary file: %q", entries(t, dir))
	}
	if err := RemoveTemps(dir); err != nil {
		t.Fatal(err)
	}
	got := entries(t, dir)
	slices.Sort(got)
	slices.Sort(keep)
	if !slices.Equal(got, keep) {
		t.Fatalf("left %q, want %q", got, keep)
	}
	p.Abort()
	if err := RemoveTemps(filepath.Join(dir, "missing")); err != nil {
		t.Fatalf("missing folder: %v", err)
	}
}
