package glue

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// testdata is a GLUE root holding small hand-written QNLI, QQP and MNLI
// files in their official layouts, since the real files are not available
// here. Their texts put quotes at the start of fields, which CSV quoting
// would swallow.
func TestFixtures(t *testing.T) {
	tests := []struct {
		task   string
		split  Split
		rows   int
		labels []int // class ids in file order; nil for test splits
		first  Example
	}{
		{"qnli", Train, 5, []int{0, 1, 0, 1, 0}, Example{
			TextA: `Who wrote "The Long Road"?`,
			TextB: `"The Long Road" was written by a schoolteacher who published it under a pen name.`, Index: 2, Line: 4}},
		{"qnli", Validation, 3, []int{0, 1, 0}, Example{TextA: "Which company built the first engine?",
			TextB: "The first engine was built by a small firm of clockmakers.", Line: 2}},
		{"qnli", Test, 2, nil, Example{TextA: "When was the treaty signed?",
			TextB: "The treaty was signed in a small hall near the harbour.", Line: 2}},
		{"qqp", Train, 4, []int{1, 0, 1, 0}, Example{TextA: "How do I learn to cook rice well?",
			TextB: "What is the best way to cook rice?", Line: 2}},
		{"qqp", Validation, 3, []int{1, 0, 1}, Example{TextA: `"Why" is a hard question, isn't it?`,
			TextB: "How long does it take to learn the piano?", Index: 1, Line: 3}},
		{"qqp", Test, 2, nil, Example{TextA: "Where can I buy cheap books?", TextB: "How do I fix a flat tyre?", Index: 1, Line: 3}},
		{"mnli", Train, 5, []int{2, 0, 1, 0, 2}, Example{TextA: `Critics said the film was "too long by half."`,
			TextB: "Some critics disliked the film.", Index: 2, Line: 4}},
		{"mnli", ValidationMatched, 3, []int{0, 2, 1}, Example{TextA: `The "new" bridge is over two hundred years old.`,
			TextB: "The bridge was built by the Romans.", Index: 2, Line: 4}},
		{"mnli", ValidationMismatched, 4, []int{0, 2, 1, 0}, Example{TextA: "Your gift helped forty families last winter.",
			TextB: "Forty families were helped.", Line: 2}},
		{"mnli", TestMatched, 2, nil, Example{TextA: "The team won its third game in a row.", TextB: "The team keeps losing.", Line: 2}},
		{"mnli", TestMismatched, 3, nil, Example{TextA: "Please write back soon.", TextB: "A reply is requested.", Index: 2, Line: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.task+"/"+string(tt.split), func(t *testing.T) {
			task := mustLookup(t, tt.task)
			examples, err := task.Load("testdata", tt.split)
			if err != nil {
				t.Fatal(err)
			}
			if len(examples) != tt.rows {
				t.Fatalf("got %d rows, want %d", len(examples), tt.rows)
			}
			for i, ex := range examples {
				if tt.labels == nil {
					if ex.HasLabel {
						t.Errorf("row %d of a test file has a label", i)
					}
				} else if !ex.HasLabel || ex.Label != tt.labels[i] {
					t.Errorf("row %d: label %d (HasLabel %v), want %d", i, ex.Label, ex.HasLabel, tt.labels[i])
				}
			}
			want := tt.first
			want.HasPair = true
			want.HasLabel = tt.labels != nil
			want.Label, want.Score = -1, -1
			if want.HasLabel {
				want.Label = tt.labels[want.Index]
			}
			if got := examples[want.Index]; got != want {
				t.Errorf("row %d:\n got %+v\nwant %+v", want.Index, got, want)
			}
		})
	}
}

// The same reader serves a GLUE root, a task folder, any fs.FS and the
// embedded data.
func TestDataLocations(t *testing.T) {
	mnli := mustLookup(t, "mnli")
	root, err := mnli.Load("testdata", ValidationMismatched)
	if err != nil {
		t.Fatal(err)
	}
	folder, err := mnli.Load(filepath.Join("testdata", "MNLI"), ValidationMismatched)
	if err != nil {
		t.Fatal(err)
	}
	viaFS, err := mnli.LoadFS(os.DirFS("testdata"), ValidationMismatched)
	if err != nil {
		t.Fatal(err)
	}
	if len(root) != 4 || len(folder) != 4 || len(viaFS) != 4 || root[3] != folder[3] || root[3] != viaFS[3] {
		t.Errorf("GLUE root, task folder and fs.FS disagree: %v, %v, %v", root, folder, viaFS)
	}

	// A copy of the shipped RTE dev set on disk reads like the embedded one.
	rte := mustLookup(t, "rte")
	shipped, err := rte.Load("", Validation)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("data", "RTE", "dev.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	mem := fstest.MapFS{"dev.tsv": {Data: b}}
	fromMem, err := rte.LoadFS(mem, Validation)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromMem) != len(shipped) || fromMem[100] != shipped[100] {
		t.Errorf("in-memory copy of RTE dev differs from the shipped one")
	}
}
