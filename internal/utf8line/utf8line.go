// Package utf8line is the one policy for text that is not valid UTF-8:
// refuse it, saying where, rather than let a decoder turn the bad bytes into
// U+FFFD. HuggingFace's tokenizers only ever see valid Unicode (Python
// strings), so replaced text would be tokenised as nothing HF can produce.
// The GLUE readers, predict's JSON lines and tokenize's input all check
// their lines here.
package utf8line

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// ErrInvalid is what every *Error wraps, for errors.Is.
var ErrInvalid = errors.New("invalid UTF-8")

// Error locates the first invalid byte of a line. Callers name the file
// and the line; Reader fills Line.
type Error struct {
	Line   int  // 1-based; 0 when the caller numbers lines itself
	Column int  // 1-based, in bytes
	Byte   byte // the first byte that starts no valid sequence
	// Escape is set for a JSON \u escape of a lone UTF-16 surrogate, which
	// encodes no character.
	Escape string
}

func (e *Error) Error() string {
	if e.Escape != "" {
		return fmt.Sprintf("%v: the escape %s at column %d is half of a UTF-16 surrogate pair", ErrInvalid, e.Escape, e.Column)
	}
	return fmt.Sprintf("%v: byte 0x%02x at column %d", ErrInvalid, e.Byte, e.Column)
}

func (e *Error) Unwrap() error { return ErrInvalid }

// Check returns nil when s is valid UTF-8, else an *Error at its first
// invalid byte.
func Check(s string) error {
	if utf8.ValidString(s) {
		return nil
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return &Error{Column: i + 1, Byte: s[i]}
		}
		i += size
	}
	return nil
}

// CheckBytes is Check for a []byte.
func CheckBytes(b []byte) error {
	if utf8.Valid(b) {
		return nil
	}
	return Check(string(b))
}

// CheckJSON is CheckBytes for a line of JSON, which can also spell an
// invalid character as an escape: a \uD800–\uDFFF not paired high then low
// (encoding/json decodes it to U+FFFD without a word).
func CheckJSON(line []byte) error {
	if err := CheckBytes(line); err != nil {
		return err
	}
	inString := false
	pendingHigh := -1 // column of an unpaired high surrogate escape
	for i := 0; i < len(line); i++ {
		c := line[i]
		if !inString {
			inString = c == '"'
			continue
		}
		if c != '\\' {
			if pendingHigh >= 0 {
				return surrogate(line, pendingHigh)
			}
			inString = c != '"'
			continue
		}
		// An escape: \uXXXX is the only one that can be a surrogate.
		if i+5 < len(line) && line[i+1] == 'u' {
			if v, ok := hex4(line[i+2 : i+6]); ok {
				switch {
				case v >= 0xD800 && v < 0xDC00:
					if pendingHigh >= 0 {
						return surrogate(line, pendingHigh)
					}
					pendingHigh = i
				case v >= 0xDC00 && v < 0xE000:
					if pendingHigh < 0 {
						return surrogate(line, i)
					}
					pendingHigh = -1
				default:
					if pendingHigh >= 0 {
						return surrogate(line, pendingHigh)
					}
				}
				i += 5
				continue
			}
		}
		if pendingHigh >= 0 {
			return surrogate(line, pendingHigh)
		}
		i++ // the escaped character
	}
	return nil
}

func surrogate(line []byte, i int) error {
	return &Error{Column: i + 1, Escape: string(line[i : i+6])}
}

func hex4(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | int(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// Reader passes the bytes of an underlying reader through, line by line,
// and fails with an *Error naming the line at the first one that is not
// valid UTF-8 — for parsers such as encoding/csv that read a stream
// themselves.
type Reader struct {
	br      *bufio.Reader
	line    int
	pending []byte
	err     error
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader { return &Reader{br: bufio.NewReaderSize(r, 64<<10)} }

func (r *Reader) Read(p []byte) (int, error) {
	if len(r.pending) == 0 && r.err == nil {
		line, err := r.br.ReadBytes('\n')
		r.line++
		r.pending, r.err = line, err
		if cerr := CheckBytes(line); cerr != nil {
			e := cerr.(*Error)
			e.Line = r.line
			r.pending, r.err = nil, e
		}
	}
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	return 0, r.err
}
