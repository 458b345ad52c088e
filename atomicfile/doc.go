// Package atomicfile writes files so that readers see either the complete old
// content or the complete new content, never a partial file.
//
// A write goes to a temporary file created in the destination's directory
// (so the final rename never crosses a file system), is buffered, flushed and
// fsynced, renamed over the destination, and finally the directory itself is
// fsynced so the rename survives a crash. If anything fails before the
// rename, the temporary file is removed and the destination is untouched.
//
// If the process is killed mid-write, the destination is still untouched, but
// a temporary file named ".<base>.tmp-<random>" may be left behind in the
// destination's directory; nothing ever renames it into place, and
// [RemoveTemps] deletes it.
//
// Running out of space (ENOSPC) or quota (EDQUOT) is reported as an error
// that names the destination path, says "disk full", and matches both
// [ErrDiskFull] and the underlying syscall error with [errors.Is].
//
// A new file is created with mode 0644; replacing an existing file keeps the
// existing file's permission bits. Ownership is not preserved.
package atomicfile
