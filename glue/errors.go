package glue

import (
	"errors"
	"fmt"

	"github.com/subtune/subtune/internal/utf8line"
)

// Kinds of error, to tell apart with errors.Is. Those about bad input come
// wrapped in a *FileError naming the file and line; ErrUnknownTask and
// ErrSplit concern a caller's arguments.
var (
	ErrEmptyFile   = errors.New("empty file")
	ErrColumns     = errors.New("wrong number of columns")
	ErrMissingCol  = errors.New("missing column")
	ErrLabel       = errors.New("unknown label")
	ErrNumber      = errors.New("bad number")
	ErrInvalidUTF8 = utf8line.ErrInvalid
	ErrUnknownTask = errors.New("unknown task")
	ErrSplit       = errors.New("unknown split")
)

// A FileError reports bad input in a data file. Its message has the
// compiler-like form "file:line: problem" so that an editor can jump to it.
type FileError struct {
	File string // the path as the caller gave it, or the embedded name
	Line int    // 1-based; 0 when the problem concerns the whole file
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

func fileErrorf(file string, line int, format string, args ...any) error {
	return &FileError{File: file, Line: line, Err: fmt.Errorf(format, args...)}
}
