package glue

import (
	"strings"
	"testing"
)

// A byte order mark, CRLF line ends, blank lines and a missing final newline
// are all read as Python's csv module reads them; line numbers still count
// every physical line.
func TestReadQuirks(t *testing.T) {
	data := bom + "index\tsentence1\tsentence2\tlabel\r\n" +
		"0\t\"a\"\t'b'\tentailment\r\n" +
		"\r\n" +
		"1\tc \t\tnot_entailment\r\n" +
		"\n" +
		"2\te\tf\tentailment"
	examples, err := mustLookup(t, "rte").Read(strings.NewReader(data), "quirks.tsv", Validation)
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{
		{TextA: `"a"`, TextB: "'b'", HasPair: true, HasLabel: true, Label: 0, Score: -1, Index: 0, Line: 2},
		{TextA: "c ", TextB: "", HasPair: true, HasLabel: true, Label: 1, Score: -1, Index: 1, Line: 4},
		{TextA: "e", TextB: "f", HasPair: true, HasLabel: true, Label: 0, Score: -1, Index: 2, Line: 6},
	}
	if len(examples) != len(want) {
		t.Fatalf("got %d examples, want %d", len(examples), len(want))
	}
	for i := range want {
		if examples[i] != want[i] {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, examples[i], want[i])
		}
	}
}

// A test file that does carry labels (one's own labeled test set in GLUE
// layout) keeps them.
func TestLabeledTestFile(t *testing.T) {
	data := "index\tquestion\tsentence\tlabel\n0\tq\ts\tnot_entailment\n"
	examples, err := mustLookup(t, "qnli").Read(strings.NewReader(data), "test.tsv", Test)
	if err != nil {
		t.Fatal(err)
	}
	if !examples[0].HasLabel || examples[0].Label != 1 {
		t.Errorf("got %+v", examples[0])
	}
}

func BenchmarkLoadSST2Train(b *testing.B) {
	task := mustLookup(b, "sst2")
	for b.Loop() {
		if _, err := task.Load("", Train); err != nil {
			b.Fatal(err)
		}
	}
}
