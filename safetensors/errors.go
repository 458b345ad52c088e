package safetensors

import (
	"errors"
	"strconv"
)

// Sentinel errors, matched with errors.Is. Every error this package returns
// is an *Error naming the file (and the tensor, when one is involved) and
// wrapping one of these or an underlying I/O error.
var (
	// ErrInvalid: the file is not a valid safetensors file (bad header,
	// unknown dtype, inconsistent shape/offsets, holes, overlaps, ...).
	ErrInvalid = errors.New("invalid safetensors file")
	// ErrNotFound: no tensor of that name.
	ErrNotFound = errors.New("no such tensor")
	// ErrDType: the operation does not support the tensor's dtype (e.g.
	// Float32 on an integer tensor).
	ErrDType = errors.New("unsupported dtype")
	// ErrSize: a slice, shape or data length does not match.
	ErrSize = errors.New("size mismatch")
	// ErrNonFinite: CheckFinite found a NaN or an infinity.
	ErrNonFinite = errors.New("non-finite value")
	// ErrUsage: the API was called incorrectly (writer out of order, closed
	// writer, bad name, ...).
	ErrUsage = errors.New("invalid use")
)

// Error is the error type of this package.
type Error struct {
	File   string // the file's path
	Tensor string // the tensor concerned, or "" when none is
	Msg    string // what went wrong, in words
	Err    error  // a sentinel above or an underlying error
}

func (e *Error) Error() string {
	s := "safetensors: " + e.File
	if e.Tensor != "" {
		s += ": tensor " + strconv.Quote(e.Tensor)
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func newErr(file, tensor string, sentinel error, msg string) *Error {
	return &Error{File: file, Tensor: tensor, Msg: msg, Err: sentinel}
}
