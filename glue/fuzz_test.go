package glue

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// seedRows returns the first n lines of every GLUE file shipped or in
// testdata, keyed by "<GLUE name>/<file>".
func seedRows(f *testing.F, n int) map[string][]byte {
	f.Helper()
	seeds := map[string][]byte{}
	add := func(fsys fs.FS) {
		names, err := fs.Glob(fsys, "*/*.tsv")
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range names {
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				f.Fatal(err)
			}
			lines := bytes.SplitAfter(data, []byte("\n"))
			seeds[name] = bytes.Join(lines[:min(n, len(lines))], nil)
		}
	}
	add(ShippedData())
	add(os.DirFS("testdata"))
	if len(seeds) == 0 {
		f.Fatal("no seed files")
	}
	return seeds
}

// FuzzRead feeds arbitrary bytes to the reader of every task and split. It
// must never panic; a rejection is a *FileError naming the file; an
// accepted file gives well-formed examples that read back unchanged from a
// file written in the task's layout.
func FuzzRead(f *testing.F) {
	for name, data := range seedRows(f, 6) {
		task := slices.IndexFunc(registry, func(t *Task) bool { return t.GLUEName == filepath.Dir(name) })
		t := registry[task]
		for i, s := range t.Splits() {
			if s.FileName() == filepath.Base(name) {
				f.Add(data, uint8(task), uint8(i))
			}
		}
	}
	f.Add([]byte("\uFEFFsentence\tlabel\r\n\r\nx\t1\r\n"), uint8(1), uint8(0))
	f.Add([]byte("s\t1\t\tx\xff\n"), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, taskIndex, splitIndex uint8) {
		task := registry[int(taskIndex)%len(registry)].clone()
		splits := task.Splits()
		split := splits[int(splitIndex)%len(splits)]
		const name = "fuzz.tsv"
		examples, err := task.Read(bytes.NewReader(data), name, split)
		if err != nil {
			checkFileError(t, err, name)
			return
		}
		checkExamples(t, examples, task.HasPair(), task.Labels, task.IsRegression)
		for _, ex := range examples {
			if ex.HasLabel != examples[0].HasLabel || !ex.HasLabel && !split.IsTest() {
				t.Fatalf("line %d: HasLabel %v in a %s file", ex.Line, ex.HasLabel, split)
			}
		}
		again, err := task.Read(bytes.NewReader(writeTaskFile(task, split, examples)), name, split)
		if err != nil {
			t.Fatalf("re-written file rejected: %v", err)
		}
		sameExamples(t, examples, again)
	})
}

// writeTaskFile writes examples as a GLUE file of task's split, with only
// the columns the reader uses.
func writeTaskFile(t *Task, split Split, examples []Example) []byte {
	label := func(ex Example) string {
		if t.IsRegression {
			return strconv.FormatFloat(float64(ex.Score), 'g', -1, 32)
		}
		return t.Labels[ex.Label]
	}
	var rows [][]string
	if t.headerless && !split.IsTest() {
		for _, ex := range examples {
			rows = append(rows, []string{"src", label(ex), "", ex.TextA})
		}
	} else {
		// A leading index column, as in GLUE's files, keeps a row with one
		// empty text from reading as a blank line.
		header := []string{"index", t.columns[0]}
		if t.HasPair() {
			header = append(header, t.columns[1])
		}
		if examples[0].HasLabel {
			header = append(header, t.labelColumn)
		}
		rows = append(rows, header)
		for i, ex := range examples {
			row := []string{strconv.Itoa(i), ex.TextA}
			if t.HasPair() {
				row = append(row, ex.TextB)
			}
			if ex.HasLabel {
				row = append(row, label(ex))
			}
			rows = append(rows, row)
		}
	}
	// CRLF line ends keep a trailing carriage return of the last field.
	var b bytes.Buffer
	for _, r := range rows {
		b.WriteString(strings.Join(r, "\t") + "\r\n")
	}
	return b.Bytes()
}

// FuzzLoadUserFile feeds arbitrary bytes to the CSV, TSV and JSON-lines
// readers of one's own files, with labels inferred or given and as
// classification or regression. It must never panic; a rejection is a
// *FileError naming the file; an accepted file gives well-formed examples
// that read back unchanged once written in the same format.
func FuzzLoadUserFile(f *testing.F) {
	exts := []string{".csv", ".tsv", ".jsonl"}
	for name, data := range seedRows(f, 4) {
		if !strings.HasPrefix(name, "SST-2/") && !strings.HasPrefix(name, "STS-B/train") && !strings.HasPrefix(name, "RTE/dev") {
			continue
		}
		f.Add(data, uint8(1), uint8(0))
		// The same rows as CSV and JSON lines.
		rows := strings.Split(strings.TrimSpace(string(data)), "\n")
		header := strings.Split(strings.TrimSpace(rows[0]), "\t")
		var csv, jsonl strings.Builder
		csv.WriteString(strings.Join(header, ",") + "\n")
		for _, r := range rows[1:] {
			fields := strings.Split(strings.TrimSpace(r), "\t")
			obj := map[string]string{}
			for i, v := range fields {
				fields[i] = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
				obj[header[i]] = v
			}
			csv.WriteString(strings.Join(fields, ",") + "\r\n")
			line, _ := json.Marshal(obj)
			jsonl.Write(append(line, '\n'))
		}
		f.Add([]byte(csv.String()), uint8(0), uint8(2))
		f.Add([]byte(jsonl.String()), uint8(2), uint8(4))
	}
	f.Add([]byte("idx,sentence2,label,sentence1\r\n0,\"Second, with a comma\",pos,\"He said \"\"hi\"\"\"\r\n"), uint8(0), uint8(0))
	f.Add([]byte("{\"text\": \"x\", \"label\": 10}\n\n{\"label\": 2, \"text\": \"y\", \"extra\": null}\n"), uint8(2), uint8(0))
	f.Add([]byte("{\"sentence\": \"a\", \"label\": 1.0}\n{\"sentence\": \"b\", \"label\": -1}\n"), uint8(2), uint8(3))
	f.Add([]byte("sentence,label\na,01\nb,-1\nc,-3\n"), uint8(0), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, extIndex, mode uint8) {
		name := "fuzz" + exts[int(extIndex)%len(exts)]
		regression, givenLabels := mode&1 != 0, mode&2 != 0
		tab, err := parseUserTable(bytes.NewReader(data), name)
		if err != nil {
			checkFileError(t, err, name)
			return
		}
		if _, err := tab.isRegression(); err != nil {
			checkFileError(t, err, name)
		}
		var given []string
		if givenLabels && !regression {
			given = []string{"0", "1", "neg", "pos"}
		}
		examples, labels, err := tab.examples(regression, given)
		if err != nil {
			checkFileError(t, err, name)
			return
		}
		if len(examples) != len(tab.rows) {
			t.Fatalf("%d examples from %d rows", len(examples), len(tab.rows))
		}
		switch {
		case regression && labels != nil:
			t.Fatalf("labels %q for regression", labels)
		case given != nil && !slices.Equal(labels, given):
			t.Fatalf("given labels %q came back as %q", given, labels)
		case given == nil && labels != nil && (len(slices.Compact(slices.Clone(labels))) != len(labels)):
			t.Fatalf("repeated labels %q", labels)
		}
		_, ib, _ := tab.textKeys()
		checkExamples(t, examples, ib >= 0, labels, regression)

		// Written back in the same format, the examples read back the same.
		hasLabel := tab.col("label") >= 0
		out := writeUserFile(filepath.Ext(name), examples, ib >= 0, hasLabel, labels, regression)
		tab2, err := parseUserTable(bytes.NewReader(out), name)
		if err != nil {
			t.Fatalf("re-written file rejected: %v\n%q", err, out)
		}
		again, labels2, err := tab2.examples(regression, labels)
		if err != nil {
			t.Fatalf("re-written file rejected: %v\n%q", err, out)
		}
		if !slices.Equal(labels, labels2) {
			t.Fatalf("labels %q read back as %q", labels, labels2)
		}
		sameExamples(t, examples, again)
	})
}

// writeUserFile writes examples with columns sentence1, sentence2 (for
// pairs) and label in the format ext names, quoting every CSV field.
func writeUserFile(ext string, examples []Example, pair, hasLabel bool, labels []string, regression bool) []byte {
	header := []string{"sentence1"}
	if pair {
		header = append(header, "sentence2")
	}
	if hasLabel {
		header = append(header, "label")
	}
	var b bytes.Buffer
	switch ext {
	case ".csv":
		b.WriteString(strings.Join(header, ",") + "\n")
	case ".tsv":
		b.WriteString(strings.Join(header, "\t") + "\r\n")
	}
	for _, ex := range examples {
		row := []string{ex.TextA}
		if pair {
			row = append(row, ex.TextB)
		}
		label := "-1"
		switch {
		case regression:
			label = strconv.FormatFloat(float64(ex.Score), 'g', -1, 32)
		case ex.HasLabel:
			label = labels[ex.Label]
		}
		if hasLabel {
			row = append(row, label)
		}
		switch ext {
		case ".csv":
			for i, s := range row {
				row[i] = `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
			}
			b.WriteString(strings.Join(row, ",") + "\n")
		case ".tsv":
			b.WriteString(strings.Join(row, "\t") + "\r\n")
		default:
			obj := map[string]any{}
			for i, s := range row {
				obj[header[i]] = s
			}
			if hasLabel && regression {
				obj["label"] = json.Number(label)
			}
			line, _ := json.Marshal(obj)
			b.Write(append(line, '\n'))
		}
	}
	return b.Bytes()
}

// checkFileError requires err to be a *FileError about file name.
func checkFileError(t *testing.T, err error, name string) {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) || fe.File != name || fe.Line < 0 {
		t.Fatalf("rejection is not a *FileError naming %s: %v", name, err)
	}
	if !utf8.ValidString(err.Error()) {
		t.Fatalf("error message is not valid UTF-8: %q", err)
	}
}

// checkExamples checks the invariants every accepted file's examples keep.
func checkExamples(t *testing.T, examples []Example, pair bool, labels []string, regression bool) {
	t.Helper()
	if len(examples) == 0 {
		t.Fatal("a file without rows was accepted")
	}
	for i, ex := range examples {
		switch {
		case ex.Index != i:
			t.Fatalf("example %d has index %d", i, ex.Index)
		case i > 0 && ex.Line <= examples[i-1].Line || ex.Line < 1:
			t.Fatalf("example %d on line %d", i, ex.Line)
		case !utf8.ValidString(ex.TextA) || !utf8.ValidString(ex.TextB):
			t.Fatalf("line %d: invalid UTF-8 text", ex.Line)
		case ex.HasPair != pair || !pair && ex.TextB != "":
			t.Fatalf("line %d: HasPair %v, TextB %q", ex.Line, ex.HasPair, ex.TextB)
		case !ex.HasLabel && (ex.Label != -1 || ex.Score != -1):
			t.Fatalf("line %d: unlabeled with label %d, score %v", ex.Line, ex.Label, ex.Score)
		case ex.HasLabel && regression && (ex.Label != -1 || math.IsNaN(float64(ex.Score)) || math.IsInf(float64(ex.Score), 0)):
			t.Fatalf("line %d: regression label %d, score %v", ex.Line, ex.Label, ex.Score)
		case ex.HasLabel && !regression && (ex.Label < 0 || ex.Label >= len(labels) || ex.Score != -1):
			t.Fatalf("line %d: class %d of %d, score %v", ex.Line, ex.Label, len(labels), ex.Score)
		}
	}
}

// sameExamples compares what a file means, line numbers aside.
func sameExamples(t *testing.T, a, b []Example) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d examples read back as %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		x.Line, y.Line = 0, 0
		if x != y {
			t.Fatalf("example %d read back differently:\n%+v\n%+v", i, a[i], b[i])
		}
	}
}
