package glue

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadUserFile(t *testing.T) {
	tests := []struct {
		name, file, data string
		wantLabels       []string
		want             []Example
	}{
		{
			// CSV quoting applies; sentence1/sentence2 win over earlier columns;
			// string labels sort by code point.
			name: "csv", file: "train.csv",
			data: bom + "idx,sentence2,label,sentence1\r\n" +
				"0,\"Second, with a comma\",pos,\"He said \"\"hi\"\"\"\r\n" +
				"1,b,neg,a\r\n",
			wantLabels: []string{"neg", "pos"},
			want: []Example{
				{TextA: `He said "hi"`, TextB: "Second, with a comma", HasPair: true, HasLabel: true, Label: 1, Score: -1, Index: 0, Line: 2},
				{TextA: "a", TextB: "b", HasPair: true, HasLabel: true, Label: 0, Score: -1, Index: 1, Line: 3},
			},
		},
		{
			// TSV: quotes literal; the first two non-label columns are the texts.
			name: "tsv", file: "dev.tsv",
			data:       "label\tpremise\thypothesis\n1\t\"A\t\"B\"\n0\tC\tD\n",
			wantLabels: []string{"0", "1"},
			want: []Example{
				{TextA: `"A`, TextB: `"B"`, HasPair: true, HasLabel: true, Label: 1, Score: -1, Index: 0, Line: 2},
				{TextA: "C", TextB: "D", HasPair: true, HasLabel: true, Label: 0, Score: -1, Index: 1, Line: 3},
			},
		},
		{
			// JSON lines; integer labels sort by value (2 before 10); a blank
			// line is skipped; a single text column.
			name: "jsonl", file: "train.jsonl",
			data:       "{\"text\": \"x\", \"label\": 10}\n\n{\"label\": 2, \"text\": \"y\"}\n",
			wantLabels: []string{"2", "10"},
			want: []Example{
				{TextA: "x", HasLabel: true, Label: 1, Score: -1, Index: 0, Line: 1},
				{TextA: "y", HasLabel: true, Label: 0, Score: -1, Index: 1, Line: 3},
			},
		},
		{
			// run_glue needs both sentence1 and sentence2 to use them by name;
			// otherwise it takes the first two columns, idx included.
			name: "only sentence1", file: "train.csv",
			data:       "idx,sentence1,label\n7,s,1\n",
			wantLabels: []string{"1"},
			want: []Example{
				{TextA: "7", TextB: "s", HasPair: true, HasLabel: true, Label: 0, Score: -1, Index: 0, Line: 2},
			},
		},
		{
			// Integer labels compare by value, as pandas reads them.
			name: "integer labels", file: "train.csv",
			data:       "sentence,label\na,01\nb,1\nc,-3\n",
			wantLabels: []string{"-3", "1"},
			want: []Example{
				{TextA: "a", HasLabel: true, Label: 1, Score: -1, Index: 0, Line: 2},
				{TextA: "b", HasLabel: true, Label: 1, Score: -1, Index: 1, Line: 3},
				{TextA: "c", HasLabel: true, Label: 0, Score: -1, Index: 2, Line: 4},
			},
		},
		{
			name: "no label column", file: "test.json",
			data:       "{\"sentence\": \"z\"}\n",
			wantLabels: nil,
			want: []Example{
				{TextA: "z", Label: -1, Score: -1, Index: 0, Line: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			examples, labels, err := LoadUserFile(writeFile(t, tt.file, tt.data), false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(labels, tt.wantLabels) {
				t.Errorf("labels %q, want %q", labels, tt.wantLabels)
			}
			if !slices.Equal(examples, tt.want) {
				t.Errorf("examples\n got %+v\nwant %+v", examples, tt.want)
			}
		})
	}
}

func TestLoadUserFileGivenLabels(t *testing.T) {
	train := writeFile(t, "train.csv", "sentence,label\na,1\nb,0\n")
	_, labels, err := LoadUserFile(train, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A -1 not in the list marks a row without a label, as in
	// HuggingFace's exported test splits.
	test := writeFile(t, "test.csv", "sentence,label\nc,-1\nd,1\n")
	examples, got, err := LoadUserFile(test, false, labels)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, labels) || examples[0].HasLabel || !examples[1].HasLabel || examples[1].Label != 1 {
		t.Errorf("got %q %+v", got, examples)
	}
	dev := writeFile(t, "dev.csv", "sentence,label\nc,1\nd,2\n")
	_, _, err = LoadUserFile(dev, false, labels)
	if !errors.Is(err, ErrLabel) || !strings.Contains(err.Error(), "dev.csv:3: unknown label \"2\"") {
		t.Errorf("unknown label: got %v", err)
	}
}

func TestUserFileRegression(t *testing.T) {
	tests := []struct {
		file, data string
		want       bool
	}{
		{"a.csv", "sentence,label\na,1\nb,0\n", false},
		{"a.csv", "sentence,label\na,1\nb,3.5\n", true},
		{"a.tsv", "sentence\tlabel\na\t1.0\n", true},
		{"a.csv", "sentence,label\na,0x1p-2\n", false}, // not a number to Python or pandas
		{"a.csv", "sentence,label\na,1\nb,good\n", false},
		{"a.jsonl", "{\"sentence\": \"a\", \"label\": 1.0}\n", true},
		{"a.jsonl", "{\"sentence\": \"a\", \"label\": 2}\n", false},
		{"a.jsonl", "{\"sentence\": \"a\", \"label\": \"3.5\"}\n", false}, // a JSON string is a class name
	}
	for _, tt := range tests {
		got, err := UserFileIsRegression(writeFile(t, tt.file, tt.data))
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s %q: regression %v, want %v", tt.file, tt.data, got, tt.want)
		}
	}

	path := writeFile(t, "s.csv", "sentence1,sentence2,label\na,b,4.25\nc,d,1\n")
	examples, labels, err := LoadUserFile(path, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if labels != nil || len(examples) != 2 || examples[0].Score != 4.25 || examples[1].Score != 1 || examples[0].Label != -1 {
		t.Errorf("regression: got %q %+v", labels, examples)
	}
	_, _, err = LoadUserFile(writeFile(t, "s.csv", "sentence,label\na,high\n"), true, nil)
	if !errors.Is(err, ErrNumber) || !strings.Contains(err.Error(), "s.csv:2:") {
		t.Errorf("bad score: got %v", err)
	}
}

func TestUserFileErrors(t *testing.T) {
	tests := []struct {
		file, data string
		want       error
		msg        string // a part of the message
	}{
		{"a.csv", "sentence,label\na,1\nb\n", ErrColumns, "a.csv:3: wrong number of columns: got 1, want 2"},
		{"a.tsv", "sentence\tlabel\na\t1\t2\n", ErrColumns, "a.tsv:2: wrong number of columns: got 3, want 2"},
		{"a.csv", "", ErrEmptyFile, "a.csv: empty file"},
		{"a.jsonl", "\n\n", ErrEmptyFile, "a.jsonl: empty file"},
		{"a.csv", "sentence,label\n", ErrEmptyFile, "a.csv: empty file: no rows"},
		{"a.csv", "sentence,label\na,1\nb\xff,0\n", ErrInvalidUTF8, "a.csv:3: invalid UTF-8: byte 0xff at column 2"},
		{"a.jsonl", "{\"sentence\": \"a\xc3\"}\n", ErrInvalidUTF8, "a.jsonl:1: invalid UTF-8: byte 0xc3 at column 16"},
		// Columns count bytes of the line, in a quoted field too.
		{"a.csv", "sentence,label\n\"é, \"\"q\"\" \xff\",0\n", ErrInvalidUTF8, "a.csv:2: invalid UTF-8: byte 0xff at column 12"},
		{"a.tsv", "sentence\tlabel\nüber\xfe\t1\n", ErrInvalidUTF8, "a.tsv:2: invalid UTF-8: byte 0xfe at column 6"},
		// A lone surrogate escape is no character either.
		{"a.jsonl", "{\"sentence\": \"ok\"}\n{\"sentence\": \"a \\ud800 b\"}\n", ErrInvalidUTF8, `a.jsonl:2: invalid UTF-8: the escape \ud800 at column 17 is half of a UTF-16 surrogate pair`},
		{"a.csv", "sentence,label\na,\n", ErrLabel, "a.csv:2: unknown label: the label is missing"},
		{"a.csv", "label\n1\n", ErrMissingCol, "a.csv:1: missing column: no text column besides \"label\""},
		{"a.jsonl", "[1, 2]\n", nil, "a.jsonl:1: want a JSON object on each line"},
		{"a.jsonl", "{\"sentence\": \"a\"}\n{\"sentence\": 5}\n", nil, "a.jsonl:2: column \"sentence\": want a string"},
		{"a.jsonl", "{\"sentence\": \"a\"} {}\n", nil, "a.jsonl:1: bad JSON: more than one value"},
		{"a.jsonl", "{\"sentence\": [\"a\"]}\n", nil, "a.jsonl:1: key \"sentence\": nested arrays"},
		{"a.csv", "sentence,label\n\"a,1\n", nil, "a.csv:"},
		{"a.xlsx", "x", nil, "unknown format \".xlsx\""},
	}
	for _, tt := range tests {
		_, _, err := LoadUserFile(writeFile(t, tt.file, tt.data), false, nil)
		if err == nil {
			t.Errorf("%s %q: no error", tt.file, tt.data)
			continue
		}
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s %q: got %v, want %v", tt.file, tt.data, err, tt.want)
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s %q: message %q lacks %q", tt.file, tt.data, err, tt.msg)
		}
	}
}
