package glue

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

const bom = "\uFEFF"

// tsvReader splits a tab-separated file into rows the way every GLUE loader
// does (Python's csv module with delimiter "\t" and quoting QUOTE_NONE):
// quotes are ordinary characters, a field ends only at a tab and a row only
// at a newline. It also drops a UTF-8 byte order mark at the start of the
// file (GLUE's MRPC files have one), accepts CRLF line ends, and skips blank
// lines as Python's csv.DictReader does.
type tsvReader struct {
	br   *bufio.Reader
	name string // file name for errors
	line int    // number of the line last read, 1-based
}

func newTSVReader(r io.Reader, name string) *tsvReader {
	return &tsvReader{br: bufio.NewReaderSize(r, 64<<10), name: name}
}

// next returns the fields of the next non-blank row, or io.EOF.
func (r *tsvReader) next() ([]string, error) {
	for {
		s, err := r.br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, &FileError{File: r.name, Line: r.line + 1, Err: err}
		}
		if s == "" && err != nil {
			return nil, io.EOF
		}
		r.line++
		s = strings.TrimSuffix(s, "\n")
		s = strings.TrimSuffix(s, "\r")
		if r.line == 1 {
			s = strings.TrimPrefix(s, bom)
		}
		if !utf8.ValidString(s) {
			return nil, &FileError{File: r.name, Line: r.line, Err: invalidUTF8(s)}
		}
		if s == "" {
			continue
		}
		return strings.Split(s, "\t"), nil
	}
}

// invalidUTF8 says where in the line the first bad byte is, since a line of
// MNLI can be thousands of bytes long.
func invalidUTF8(s string) error {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Errorf("%w: byte 0x%02x at column %d", ErrInvalidUTF8, s[i], utf8.RuneCountInString(s[:i])+1)
		}
		i += size
	}
	return ErrInvalidUTF8
}
