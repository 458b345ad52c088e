// Package testdir makes folders with properties tests need.
package testdir

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// ReadOnly returns a new folder this process cannot write: mode 0555, or,
// for root (whom modes do not stop), a read-only tmpfs mounted on it. The
// test is skipped where neither is possible.
func ReadOnly(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "read-only")
	if err := os.Mkdir(dir, 0o555); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.Chmod(dir, 0o755) })
	if unix.Access(dir, unix.W_OK) != nil {
		return dir
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_RDONLY, "size=1m"); err != nil {
		tb.Skipf("cannot make a read-only folder as root: %v", err)
	}
	tb.Cleanup(func() { unix.Unmount(dir, 0) })
	return dir
}
