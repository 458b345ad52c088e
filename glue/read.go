package glue

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// An Example is one row of a task's data.
type Example struct {
	TextA, TextB string // TextB is "" when HasPair is false
	HasPair      bool
	// HasLabel is false for rows without a label (GLUE's test files); Label
	// and Score are then -1, as in HuggingFace datasets.
	HasLabel bool
	Label    int     // class id, an index into Task.Labels; -1 for regression
	Score    float32 // the gold score for regression; -1 for classification
	// Index is the row's id: its 0-based position among the file's rows,
	// which is HuggingFace datasets' idx and the index column of GLUE's test
	// files, and so what a GLUE submission file lists.
	Index int
	Line  int // the row's 1-based line in its file, for messages
}

// Read reads the rows of one of the task's files in its official GLUE
// layout from r. name is used in error messages; split tells which layout
// to expect. Rows of a test split may lack labels.
//
// Files with a header row (all but CoLA's train and dev) are read by column
// name, as HuggingFace datasets reads them, so MNLI's train and dev files,
// which differ in their label columns, need no special case; every row must
// have as many columns as the header.
func (t *Task) Read(r io.Reader, name string, split Split) ([]Example, error) {
	if err := t.checkSplit(split); err != nil {
		return nil, err
	}
	tr := newTSVReader(r, name)
	if t.headerless && !split.IsTest() {
		return t.readRows(tr, split, 4, [2]int{3, -1}, 1)
	}
	header, err := tr.next()
	if errors.Is(err, io.EOF) {
		return nil, &FileError{File: name, Err: ErrEmptyFile}
	}
	if err != nil {
		return nil, err
	}
	col := func(c string) int { return slices.Index(header, c) }
	text := [2]int{col(t.columns[0]), -1}
	if t.HasPair() {
		text[1] = col(t.columns[1])
	}
	label := col(t.labelColumn)
	missing := text[0] < 0 || (t.HasPair() && text[1] < 0) || (label < 0 && !split.IsTest())
	if missing {
		return nil, fileErrorf(name, tr.line, "%w: header is %s; the official %s %s layout is %s",
			ErrMissingCol, quoteAll(header), t.GLUEName, split.FileName(), quoteAll(t.Layout(split)))
	}
	return t.readRows(tr, split, len(header), text, label)
}

// readRows reads the data rows, each of which must have ncol columns; text
// and label are column indexes (-1: absent).
func (t *Task) readRows(tr *tsvReader, split Split, ncol int, text [2]int, label int) ([]Example, error) {
	var examples []Example
	for {
		fields, err := tr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(fields) != ncol {
			return nil, fileErrorf(tr.name, tr.line, "%w: got %d, want %d (%s layout: %s)",
				ErrColumns, len(fields), ncol, t.GLUEName, quoteAll(t.Layout(split)))
		}
		ex := Example{TextA: fields[text[0]], Index: len(examples), Line: tr.line, Label: -1, Score: -1}
		if text[1] >= 0 {
			ex.TextB, ex.HasPair = fields[text[1]], true
		}
		if label >= 0 {
			if err := t.parseLabel(&ex, fields[label]); err != nil {
				return nil, &FileError{File: tr.name, Line: tr.line, Err: err}
			}
		}
		examples = append(examples, ex)
	}
	if len(examples) == 0 {
		return nil, &FileError{File: tr.name, Err: fmt.Errorf("%w: no rows", ErrEmptyFile)}
	}
	return examples, nil
}

// parseLabel sets ex's label from the label field, exactly as written: no
// trimming, no case folding, so that a malformed file is reported rather
// than guessed at.
func (t *Task) parseLabel(ex *Example, s string) error {
	if t.IsRegression {
		v, err := parseScore(s)
		if err != nil {
			return err
		}
		ex.Score, ex.Label, ex.HasLabel = v, -1, true
		return nil
	}
	id := slices.Index(t.Labels, s)
	if id < 0 {
		return fmt.Errorf("%w %q (%s labels: %s)", ErrLabel, s, t.Name, strings.Join(t.Labels, ", "))
	}
	ex.Label, ex.Score, ex.HasLabel = id, -1, true
	return nil
}

// parseScore reads a regression target as float32, as HuggingFace datasets
// stores it; Python's float() allows surrounding spaces, so this does too.
func parseScore(s string) (float32, error) {
	v, err := parseFloat(strings.TrimSpace(s), 32)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%w %q: want a finite number", ErrNumber, s)
	}
	return float32(v), nil
}

// parseFloat is strconv.ParseFloat without Go's hexadecimal floats
// ("0x1p-2"), which neither Python's float() nor pandas reads as numbers.
func parseFloat(s string, bits int) (float64, error) {
	if strings.ContainsAny(s, "xX") {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseFloat(s, bits)
}

func quoteAll(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = strconv.Quote(c)
	}
	return strings.Join(q, ", ")
}
