package glue

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
)

// LoadUserFile reads a file of one's own, like run_glue's --train_file,
// --validation_file and --test_file: CSV (RFC 4180 quoting), TSV (GLUE's
// rules: quotes are literal) or JSON lines (.json, .jsonl), each with named
// columns. The format is told by the extension.
//
// The columns are chosen by run_glue's rule: "sentence1" and "sentence2" if
// both exist, else the first one or two columns other than "label", in the
// file's order (so a leading "idx" column would be taken as text, as in
// run_glue). A file without a "label" column gives unlabeled examples.
//
// For regression each label is read as a float32. For classification, labels
// maps label values to class ids; when it is nil, the labels are the file's
// distinct values sorted as run_glue sorts them (numerically when all are
// integers, else as strings), and the list is returned for use with the
// validation and test files. Integer labels compare by value ("01" is 1). As
// in run_glue, a label -1 that is not in a given list marks an unlabeled row
// (HuggingFace's exported test splits carry it).
func LoadUserFile(path string, isRegression bool, labels []string) ([]Example, []string, error) {
	t, err := readUserTable(path)
	if err != nil {
		return nil, nil, err
	}
	return t.examples(isRegression, labels)
}

// UserFileIsRegression tells whether run_glue would treat a user file's
// labels as regression targets: HuggingFace infers a float column when every
// label is a number and at least one is not written as an integer ("3.5",
// "1.0", 2e-1).
func UserFileIsRegression(path string) (bool, error) {
	t, err := readUserTable(path)
	if err != nil {
		return false, err
	}
	return t.isRegression()
}

func (t *table) isRegression() (bool, error) {
	il := t.col("label")
	if il < 0 {
		return false, &FileError{File: t.name, Line: 1, Err: fmt.Errorf("%w \"label\"", ErrMissingCol)}
	}
	float := false
	for i := range t.rows {
		c := t.get(i, il)
		if !c.present || c.s == "" {
			continue
		}
		if c.isNumber() {
			float = float || !c.isInteger()
			continue
		}
		return false, nil // a string label: classification
	}
	return float, nil
}

// textKeys returns the columns holding the texts, by run_glue's rule;
// b is -1 for single texts.
func (t *table) textKeys() (a, b int, err error) {
	if a, b := t.col("sentence1"), t.col("sentence2"); a >= 0 && b >= 0 {
		return a, b, nil
	}
	var other []int
	for i, c := range t.cols {
		if c != "label" {
			other = append(other, i)
		}
	}
	switch len(other) {
	case 0:
		return -1, -1, &FileError{File: t.name, Line: 1, Err: fmt.Errorf("%w: no text column besides \"label\"", ErrMissingCol)}
	case 1:
		return other[0], -1, nil
	}
	return other[0], other[1], nil
}

func (t *table) examples(isRegression bool, labels []string) ([]Example, []string, error) {
	ia, ib, err := t.textKeys()
	if err != nil {
		return nil, nil, err
	}
	il := t.col("label")
	intLabels := il >= 0 && t.allIntegers(il)
	given := labels != nil
	if !isRegression && !given && il >= 0 {
		labels = t.labelSet(il, intLabels)
	}
	if isRegression {
		labels = nil
	}
	examples := make([]Example, 0, len(t.rows))
	for i := range t.rows {
		line := t.lines[i]
		ex := Example{Index: i, Line: line, Label: -1, Score: -1}
		if ex.TextA, err = t.text(i, ia); err != nil {
			return nil, nil, err
		}
		if ib >= 0 {
			if ex.TextB, err = t.text(i, ib); err != nil {
				return nil, nil, err
			}
			ex.HasPair = true
		}
		if il >= 0 {
			c := t.get(i, il)
			if !c.present || c.s == "" {
				return nil, nil, fileErrorf(t.name, line, "%w: the label is missing", ErrLabel)
			}
			if isRegression {
				v, err := parseScore(c.s)
				if err != nil {
					return nil, nil, &FileError{File: t.name, Line: line, Err: err}
				}
				ex.Score, ex.HasLabel = v, true
			} else {
				v := canonicalLabel(c.s, intLabels)
				id := slices.Index(labels, v)
				switch {
				case id >= 0:
					ex.Label, ex.HasLabel = id, true
				case given && v == "-1":
					// run_glue's mark of a row without a label.
				default:
					return nil, nil, fileErrorf(t.name, line, "%w %q (labels: %s)", ErrLabel, c.s, quoteAll(labels))
				}
			}
		}
		examples = append(examples, ex)
	}
	return examples, labels, nil
}

func (t *table) text(row, col int) (string, error) {
	c := t.get(row, col)
	if !c.isText() {
		return "", fileErrorf(t.name, t.lines[row], "column %q: want a string", t.cols[col])
	}
	return c.s, nil
}

// allIntegers reports whether every label is an integer, in which case
// pandas and pyarrow read the column as int64.
func (t *table) allIntegers(il int) bool {
	for i := range t.rows {
		if c := t.get(i, il); c.present && c.s != "" && !c.isInteger() {
			return false
		}
	}
	return true
}

// labelSet returns the distinct labels sorted as Python sorts the column's
// values: integers by value, strings by code point (which is Go's byte
// order for UTF-8).
func (t *table) labelSet(il int, intLabels bool) []string {
	var set []string
	seen := map[string]bool{}
	for i := range t.rows {
		if c := t.get(i, il); c.present && c.s != "" {
			v := canonicalLabel(c.s, intLabels)
			if !seen[v] {
				seen[v] = true
				set = append(set, v)
			}
		}
	}
	if intLabels {
		slices.SortFunc(set, func(a, b string) int {
			x, _ := strconv.ParseInt(a, 10, 64)
			y, _ := strconv.ParseInt(b, 10, 64)
			return cmp.Compare(x, y)
		})
	} else {
		slices.Sort(set)
	}
	return set
}

func canonicalLabel(s string, intLabels bool) string {
	if intLabels {
		v, _ := strconv.ParseInt(s, 10, 64)
		return strconv.FormatInt(v, 10)
	}
	return s
}

func isInteger(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

func isNumber(s string) bool {
	_, err := parseFloat(s, 64)
	return err == nil
}
