package atomicfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrDiskFull is matched (via errors.Is) by errors caused by the file system
// running out of space or quota.
var ErrDiskFull = errors.New("disk full")

// bufSize is the write buffer size; large enough that the syscall count is
// negligible for multi-gigabyte files.
const bufSize = 1 << 20

// defaultPerm is the mode of newly created files.
const defaultPerm fs.FileMode = 0o644

// A temporary file is named "." + the destination's name + tmpInfix + the
// decimal number os.CreateTemp picks.
const tmpInfix = ".tmp-"

// RemoveTemps deletes the temporary files that writes into dir left behind
// when their process was killed: nothing ever renames them into place. A
// write in progress has a temporary file of the same form, so call it only
// where no other process writes, such as a folder one's process has locked.
// A missing dir is not an error.
func RemoveTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() && IsTemp(e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("atomicfile: %w", err)
			}
		}
	}
	return nil
}

// IsTemp reports whether a file name is that of a temporary file of an
// atomic write.
func IsTemp(name string) bool {
	i := strings.LastIndex(name, tmpInfix)
	if i < 2 || name[0] != '.' {
		return false
	}
	n := name[i+len(tmpInfix):]
	return n != "" && strings.Trim(n, "0123456789") == ""
}

// WriteFile atomically replaces the file at path with whatever write writes
// to w. The writer passed to write is buffered; write need not flush it.
//
// If write returns an error (or panics), or any file system step fails, the
// temporary file is removed, the file at path is left as it was, and the
// error is returned wrapped with the path.
func WriteFile(path string, write func(w io.Writer) error) error {
	p, err := Create(path)
	if err != nil {
		return err
	}
	defer p.Abort() // no-op after a successful Commit; also runs if write panics
	if werr := write(p); werr != nil {
		if p.err != nil && errors.Is(werr, p.err) {
			// Our own write error, already naming the path, possibly
			// wrapped with more context by the callback.
			return werr
		}
		return p.wrap("write", werr)
	}
	return p.Commit()
}

// WriteJSON atomically writes v as indented JSON (two spaces, no HTML
// escaping) followed by a newline.
func WriteJSON(path string, v any) error {
	// Encode first so an unencodable value never creates a temp file.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil { // Encode appends the newline
		return fmt.Errorf("atomicfile: encode JSON for %s: %w", path, err)
	}
	return WriteFile(path, func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	})
}

// Pending is a file being written atomically. Bytes written to it go to a
// temporary file; nothing appears at the destination until Commit succeeds.
// Exactly one of Commit or Abort should be called; Abort after Commit is a
// no-op, so `defer p.Abort()` is the idiomatic cleanup.
//
// A Pending is not safe for concurrent use.
type Pending struct {
	path string
	tmp  *os.File
	bw   *bufio.Writer
	perm fs.FileMode
	err  error // sticky: first write error
	done bool
}

// Create starts an atomic write of path. The directory must exist.
func Create(path string) (*Pending, error) {
	perm := defaultPerm
	if st, err := os.Stat(path); err == nil {
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("atomicfile: %s: not a regular file", path)
		}
		perm = st.Mode().Perm()
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+tmpInfix+"*")
	if err != nil {
		return nil, wrapErr(path, "create temp file for", err)
	}
	p := &Pending{path: path, tmp: tmp, perm: perm}
	p.bw = bufio.NewWriterSize(errWriter{p}, bufSize)
	return p, nil
}

// errWriter records the first error of the underlying file so that it is
// reported once, wrapped with the destination path.
type errWriter struct{ p *Pending }

func (e errWriter) Write(b []byte) (int, error) {
	n, err := e.p.tmp.Write(b)
	if err != nil && e.p.err == nil {
		e.p.err = e.p.wrap("write", err)
	}
	if err != nil {
		return n, e.p.err
	}
	return n, nil
}

// Path returns the destination path.
func (p *Pending) Path() string { return p.path }

// Write appends b to the pending file. After the first error every call
// returns that error.
func (p *Pending) Write(b []byte) (int, error) {
	if p.done {
		return 0, fmt.Errorf("atomicfile: write %s: %w", p.path, os.ErrClosed)
	}
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.bw.Write(b)
	if err != nil && p.err == nil {
		p.err = p.wrap("write", err)
	}
	if err != nil {
		return n, p.err
	}
	return n, nil
}

// Commit flushes, fsyncs and renames the temporary file over the
// destination, then fsyncs the directory. On error before the rename the
// temporary file is removed and the destination is untouched. An error from
// the final directory fsync is returned, but by then the new content is
// already in place.
func (p *Pending) Commit() error {
	if p.done {
		return fmt.Errorf("atomicfile: commit %s: %w", p.path, os.ErrClosed)
	}
	if err := p.commit(); err != nil {
		p.Abort()
		return err
	}
	return nil
}

func (p *Pending) commit() error {
	if p.err != nil {
		return p.err
	}
	if err := p.bw.Flush(); err != nil {
		if p.err != nil {
			return p.err
		}
		return p.wrap("write", err)
	}
	if err := p.tmp.Chmod(p.perm); err != nil {
		return p.wrap("chmod", err)
	}
	if err := p.tmp.Sync(); err != nil {
		return p.wrap("fsync", err)
	}
	if err := p.tmp.Close(); err != nil {
		return p.wrap("close", err)
	}
	if err := os.Rename(p.tmp.Name(), p.path); err != nil {
		return p.wrap("rename", err)
	}
	p.done = true
	if err := syncDir(filepath.Dir(p.path)); err != nil {
		return p.wrap("fsync directory of", err)
	}
	return nil
}

// Abort discards the pending file. It is a no-op after Commit or a previous
// Abort.
func (p *Pending) Abort() {
	if p.done {
		return
	}
	p.done = true
	p.tmp.Close()
	os.Remove(p.tmp.Name())
}

func (p *Pending) wrap(op string, err error) error { return wrapErr(p.path, op, err) }

func wrapErr(path, op string, err error) error {
	if errors.Is(err, ErrDiskFull) {
		return err
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("atomicfile: %s %s: %w: %w", op, path, ErrDiskFull, err)
	}
	return fmt.Errorf("atomicfile: %s %s: %w", op, path, err)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		// Some file systems cannot fsync directories; the rename is as
		// durable as they allow.
		if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
			return nil
		}
		return err
	}
	return nil
}
