package glue

import (
	"bufio"
	"errors"
	"io"
	"strings"

	"github.com/subtune/subtune/internal/utf8line"
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
		if err := utf8line.Check(s); err != nil {
			return nil, &FileError{File: r.name, Line: r.line, Err: err}
		}
		if s == "" {
			continue
		}
		return strings.Split(s, "\t"), nil
	}
}
