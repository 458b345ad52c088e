package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/subtune/subtune/tokenizer"
)

// TestTokenizeLines checks the command's output on a single sentence and a
// pair against the tokenizer's own encoding (itself golden-tested against
// HuggingFace).
func TestTokenizeLines(t *testing.T) {
	tok, err := tokenizer.Load("../../tokenizer/testdata/bert-base-uncased")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	in := "Hello, world!\nThe cat sat.\tIt was warm.\n"
	if err := tokenizeLines(tok, strings.NewReader(in), &out, 8); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d output lines, want 2:\n%s", len(lines), out.String())
	}
	for i, tc := range []struct {
		a, b    string
		hasPair bool
	}{{"Hello, world!", "", false}, {"The cat sat.", "It was warm.", true}} {
		want := string(appendEncodingJSON(nil, tok.Encode(tc.a, tc.b, tc.hasPair, 8)))
		if strings.TrimSpace(lines[i]) != strings.TrimSpace(want) {
			t.Errorf("line %d: %s, want %s", i+1, lines[i], want)
		}
	}
	if !strings.Contains(lines[0], `"input_ids":[101,7592,1010,2088,999,102]`) {
		t.Errorf("line 1 is %s, want [CLS] hello , world ! [SEP] = 101 7592 1010 2088 999 102", lines[0])
	}
}

// TestTokenizeCapsMaxSeqLength: a --max_seq_length beyond the tokenizer's
// model_max_length is capped with a warning that names the cap.
func TestTokenizeCapsMaxSeqLength(t *testing.T) {
	out, err := runRootIO(t, "hello\n", "tokenize", "--model_name_or_path", "../../models/subtune-bert-mini", "--max_seq_length", "9999")
	if err != nil {
		t.Fatal(err)
	}
	want := "warning: the max_seq_length passed (9999) is larger than the maximum length for the model (512). Using max_seq_length=512."
	if !strings.Contains(out, want) || !strings.Contains(out, `"input_ids":[101,7592,102]`) {
		t.Errorf("output does not hold %q and the ids:\n%s", want, out)
	}
}

// TestTokenizeRefusesInvalidUTF8: bad bytes are an error naming the line
// and the byte column, as in the GLUE readers, never replaced.
func TestTokenizeRefusesInvalidUTF8(t *testing.T) {
	_, err := runRootIO(t, "fine\nna\xefve\tpair\n", "tokenize", "--model_name_or_path", "../../models/subtune-bert-mini")
	want := "stdin: line 2: invalid UTF-8: byte 0xef at column 3"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
