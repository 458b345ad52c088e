package dirlock

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// FileName is the lock file inside a held folder.
const FileName = ".subtune.lock"

// ErrBusy is matched (via errors.Is) by the error of Acquire when another
// run holds the folder.
var ErrBusy = errors.New("in use by another run")

// Lock is a folder held by this process.
type Lock struct {
	dir string
	f   *os.File
}

// Acquire creates dir if needed, checks that it can be written, and locks
// it for this process. If another run holds it, the error matches ErrBusy
// and names dir and the holder's pid.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output folder %s cannot be created: %w", dir, err)
	}
	if err := CheckWritable(dir); err != nil {
		return nil, fmt.Errorf("output folder %w", err)
	}
	path := filepath.Join(dir, FileName)
	// A holder removes the file when it releases the lock; whoever opened
	// the removed file before then finds it replaced and tries again.
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("output folder %s: lock file: %w", dir, err)
		}
		if err := flock(f); err != nil {
			pid := readPID(f)
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, fmt.Errorf("output folder %s is %w (pid %s holds %s); wait for it to end or choose another folder", dir, ErrBusy, pid, path)
			}
			return nil, fmt.Errorf("output folder %s: locking %s: %w", dir, path, err)
		}
		if !stillAt(f, path) {
			f.Close()
			continue
		}
		if err := writePID(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("output folder %s: writing %s: %w", dir, path, err)
		}
		return &Lock{dir: dir, f: f}, nil
	}
	return nil, fmt.Errorf("output folder %s: %s keeps being replaced; is another program removing it?", dir, path)
}

// Release removes the lock file and unlocks the folder. It is a no-op on a
// nil or released Lock, so `defer l.Release()` is safe.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	// Remove while still holding the lock, so that no other process can
	// lock the file and then see it vanish.
	os.Remove(filepath.Join(l.dir, FileName))
	err := l.f.Close()
	l.f = nil
	return err
}

// Dir is the held folder.
func (l *Lock) Dir() string { return l.dir }

// CheckWritable reports whether files can be created in dir and removed
// from it; the error starts with dir.
func CheckWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("%s cannot be written: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("%s: its files cannot be removed: %w", dir, err)
	}
	return nil
}

func flock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			return err
		}
	}
}

// stillAt reports whether path is still the file f has open.
func stillAt(f *os.File, path string) bool {
	open, err1 := f.Stat()
	now, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(open, now)
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// readPID returns the pid recorded in f, or "unknown" when the holder has
// not written it yet.
func readPID(f *os.File) string {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 64))
	if err != nil {
		return "unknown"
	}
	s := strings.TrimSpace(string(b))
	if _, err := strconv.Atoi(s); err != nil {
		return "unknown"
	}
	return s
}
