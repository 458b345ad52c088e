package glue

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/subtune/subtune/internal/utf8line"
)

// A cell is one value of a user file.
type cell struct {
	s       string // the value; a JSON number's literal text
	present bool   // false for a JSON key that is absent or null
	kind    cellKind
}

type cellKind uint8

const (
	untyped    cellKind = iota // CSV or TSV text, whose type pandas infers per column
	jsonString                 // JSON values carry their type
	jsonNumber
	jsonBool
)

// isNumber and isInteger say whether HuggingFace's loaders would read the
// value as a number, or as an integer.
func (c cell) isNumber() bool {
	return c.kind == jsonNumber || (c.kind == untyped && isNumber(c.s))
}

func (c cell) isInteger() bool { return c.isNumber() && isInteger(c.s) }

func (c cell) isText() bool { return c.present && (c.kind == untyped || c.kind == jsonString) }

// A table is a user file read into named columns, before any meaning is
// given to them.
type table struct {
	name  string
	cols  []string // in the order of the header, or of first appearance in JSON
	rows  [][]cell // rows[i] may be shorter than cols (JSON keys seen later)
	lines []int    // lines[i] is the 1-based line where rows[i] starts
}

func (t *table) get(row, col int) cell {
	if col < 0 || col >= len(t.rows[row]) {
		return cell{}
	}
	return t.rows[row][col]
}

// readUserTable reads a CSV, TSV or JSON-lines file, telling the format by
// the file name's extension as run_glue does.
func readUserTable(path string) (*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("glue: %w", err)
	}
	defer f.Close()
	return parseUserTable(f, path)
}

// parseUserTable reads a user file from r in the format name's extension
// tells.
func parseUserTable(r io.Reader, name string) (*table, error) {
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".csv":
		return readCSVTable(r, name)
	case ".tsv":
		return readTSVTable(r, name)
	case ".json", ".jsonl":
		return readJSONLinesTable(r, name)
	default:
		return nil, fmt.Errorf("glue: %s: unknown format %q: want .csv, .tsv, .json or .jsonl", name, ext)
	}
}

// readCSVTable reads RFC 4180 CSV with a header row: unlike GLUE's TSV
// files, quotes here are CSV quoting, as in the pandas reader behind
// HuggingFace's csv loader.
func readCSVTable(r io.Reader, name string) (*table, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(bom)); err == nil && string(b) == bom {
		br.Discard(len(bom))
	}
	// Checked line by line before the CSV parser, so that an error names
	// the line and the column in it, not the offset in a quoted field.
	cr := csv.NewReader(utf8line.NewReader(br))
	t := &table{name: name}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				return nil, fileErrorf(name, pe.StartLine, "%w: got %d, want %d as in the header", ErrColumns, len(rec), len(t.cols))
			}
			return nil, fileErrorf(name, pe.Line, "%v", pe.Err)
		}
		var ue *utf8line.Error
		if errors.As(err, &ue) {
			return nil, &FileError{File: name, Line: ue.Line, Err: ue}
		}
		if err != nil {
			return nil, &FileError{File: name, Err: err}
		}
		line, _ := cr.FieldPos(0)
		if t.cols == nil {
			t.cols = rec
			continue
		}
		t.addTextRow(rec, line)
	}
	return t.checkNotEmpty()
}

// readTSVTable reads a tab-separated file with a header row, with GLUE's
// rules: quotes are literal.
func readTSVTable(r io.Reader, name string) (*table, error) {
	tr := newTSVReader(r, name)
	t := &table{name: name}
	for {
		fields, err := tr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if t.cols == nil {
			t.cols = fields
			continue
		}
		if len(fields) != len(t.cols) {
			return nil, fileErrorf(name, tr.line, "%w: got %d, want %d as in the header", ErrColumns, len(fields), len(t.cols))
		}
		t.addTextRow(fields, tr.line)
	}
	return t.checkNotEmpty()
}

func (t *table) addTextRow(fields []string, line int) {
	row := make([]cell, len(fields))
	for i, s := range fields {
		row[i] = cell{s: s, present: true}
	}
	t.rows = append(t.rows, row)
	t.lines = append(t.lines, line)
}

// readJSONLinesTable reads one JSON object per line, as HuggingFace's json
// loader does; columns are the keys in order of first appearance.
func readJSONLinesTable(r io.Reader, name string) (*table, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	t := &table{name: name}
	index := map[string]int{}
	for line := 1; ; line++ {
		s, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, &FileError{File: name, Line: line, Err: err}
		}
		if s == "" && err != nil {
			break
		}
		if line == 1 {
			s = strings.TrimPrefix(s, bom)
		}
		if err := utf8line.CheckJSON([]byte(s)); err != nil {
			// Go's JSON decoder would quietly turn these into U+FFFD.
			return nil, &FileError{File: name, Line: line, Err: err}
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		row, err := parseJSONObject(s, t, index)
		if err != nil {
			return nil, &FileError{File: name, Line: line, Err: err}
		}
		t.rows = append(t.rows, row)
		t.lines = append(t.lines, line)
	}
	return t.checkNotEmpty()
}

// parseJSONObject parses one line holding a JSON object into a row, adding
// keys not seen before to t.cols. It walks tokens rather than decoding into
// a map so that the order of the keys, which decides the text columns,
// survives.
func parseJSONObject(s string, t *table, index map[string]int) ([]cell, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("want a JSON object on each line (JSON lines)")
	}
	row := make([]cell, len(t.cols))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("bad JSON: %w", err)
		}
		key := tok.(string) // object keys are always strings
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("bad JSON: %w", err)
		}
		var c cell
		switch v := v.(type) {
		case nil:
			// An absent value, as pyarrow reads null.
		case string:
			c = cell{s: v, present: true, kind: jsonString}
		case json.Number:
			c = cell{s: v.String(), present: true, kind: jsonNumber}
		case bool:
			c = cell{s: strconv.FormatBool(v), present: true, kind: jsonBool}
		default:
			return nil, fmt.Errorf("key %q: nested arrays and objects are not supported", key)
		}
		i, ok := index[key]
		if !ok {
			i = len(t.cols)
			index[key] = i
			t.cols = append(t.cols, key)
		}
		if i >= len(row) {
			row = append(row, make([]cell, i+1-len(row))...)
		}
		row[i] = c
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	if strings.TrimSpace(s[dec.InputOffset():]) != "" {
		return nil, errors.New("bad JSON: more than one value on the line")
	}
	return row, nil
}

func (t *table) checkNotEmpty() (*table, error) {
	if len(t.rows) == 0 {
		if t.cols == nil {
			return nil, &FileError{File: t.name, Err: ErrEmptyFile}
		}
		return nil, &FileError{File: t.name, Err: fmt.Errorf("%w: no rows", ErrEmptyFile)}
	}
	return t, nil
}

func (t *table) col(name string) int { return slices.Index(t.cols, name) }
