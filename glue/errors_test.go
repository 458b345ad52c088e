package glue

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name  string
		task  string
		split Split
		data  string
		want  error
		msg   string // the whole message
	}{
		{"too few columns", "rte", Validation,
			"index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\ta\tnot_entailment\n",
			ErrColumns, `f.tsv:3: wrong number of columns: got 3, want 4 (RTE layout: "index", "sentence1", "sentence2", "label")`},
		{"too many columns", "sst2", Train,
			"sentence\tlabel\ngood\t1\nbad\t0\textra\n",
			ErrColumns, `f.tsv:3: wrong number of columns: got 3, want 2 (SST-2 layout: "sentence", "label")`},
		{"cola headerless", "cola", Train,
			"gj04\t1\t\tFine.\ngj04\t0\tBad.\n",
			ErrColumns, `f.tsv:2: wrong number of columns: got 3, want 4 (CoLA layout: "source", "label", "original label", "sentence")`},
		{"unknown label", "rte", Validation,
			"index\tsentence1\tsentence2\tlabel\n0\ta\tb\tEntailment\n",
			ErrLabel, `f.tsv:2: unknown label "Entailment" (rte labels: entailment, not_entailment)`},
		{"empty label", "mrpc", Train,
			bom + "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n\t1\t2\ta\tb\n",
			ErrLabel, `f.tsv:2: unknown label "" (mrpc labels: 0, 1)`},
		{"bad float", "stsb", Validation,
			"index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n" +
				"0\tg\tf\t2012\t0\tnone\tnone\ta\tb\tfive\n",
			ErrNumber, `f.tsv:2: bad number "five": want a finite number`},
		{"nan score", "stsb", Validation,
			"index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n" +
				"0\tg\tf\t2012\t0\tnone\tnone\ta\tb\tNaN\n",
			ErrNumber, `f.tsv:2: bad number "NaN": want a finite number`},
		{"hexadecimal score", "stsb", Validation,
			"index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n" +
				"0\tg\tf\t2012\t0\tnone\tnone\ta\tb\t0x1p-2\n",
			ErrNumber, `f.tsv:2: bad number "0x1p-2": want a finite number`},
		{"empty file", "rte", Train, "", ErrEmptyFile, "f.tsv: empty file"},
		{"blank file", "rte", Train, "\n\r\n\n", ErrEmptyFile, "f.tsv: empty file"},
		{"empty cola", "cola", Train, "", ErrEmptyFile, "f.tsv: empty file: no rows"},
		{"header only", "qnli", Train, "index\tquestion\tsentence\tlabel\n", ErrEmptyFile, "f.tsv: empty file: no rows"},
		{"invalid UTF-8", "sst2", Train,
			"sentence\tlabel\ngood\t1\nna\xefve\t0\n",
			ErrInvalidUTF8, "f.tsv:3: invalid UTF-8: byte 0xef at column 3"},
		{"missing label column", "qnli", Validation,
			"index\tquestion\tsentence\n0\tq\ts\n",
			ErrMissingCol, `f.tsv:1: missing column: header is "index", "question", "sentence"; the official QNLI dev.tsv layout is "index", "question", "sentence", "label"`},
		{"wrong task's file", "mnli", Train,
			"index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n",
			ErrMissingCol, ""},
		{"csv quoting is not applied", "sst2", Train,
			"sentence\tlabel\n\"a\tb\"\t1\n",
			ErrColumns, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mustLookup(t, tt.task).Read(strings.NewReader(tt.data), "f.tsv", tt.split)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.File != "f.tsv" {
				t.Fatalf("%v is not a *FileError naming the file", err)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("message\n got %s\nwant %s", err, tt.msg)
			}
		})
	}
}

// Errors from Load name the file by the path the caller gave.
func TestLoadErrorNamesPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "RTE"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tmaybe\n"
	if err := os.WriteFile(filepath.Join(dir, "RTE", "dev.tsv"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	rte := mustLookup(t, "rte")
	_, err := rte.Load(dir, Validation)
	want := filepath.Join(dir, "RTE", "dev.tsv") + `:2: unknown label "maybe"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v, want it to start with %s", err, want)
	}

	_, err = rte.Load(dir, Train)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(dir, "RTE", "train.tsv")) {
		t.Errorf("missing train.tsv: got %v", err)
	}
	_, err = rte.Load(filepath.Join(dir, "nowhere"), Validation)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: got %v", err)
	}
}

func TestUnknownTaskAndSplit(t *testing.T) {
	_, err := Lookup("sst5")
	want := `glue: unknown task "sst5" (valid: cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli)`
	if !errors.Is(err, ErrUnknownTask) || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	_, err = mustLookup(t, "mnli").Load("testdata", Validation)
	want = `glue: mnli: unknown split "validation" (valid: train, validation_matched, validation_mismatched, test_matched, test_mismatched)`
	if !errors.Is(err, ErrSplit) || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	_, err = mustLookup(t, "rte").Read(strings.NewReader(""), "f", ValidationMatched)
	if !errors.Is(err, ErrSplit) {
		t.Errorf("rte validation_matched: got %v", err)
	}
}
