package pretrain

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/tokenizer"
)

func TestGLUETrainCorpus(t *testing.T) {
	dir := t.TempDir()
	path, err := GLUETrainCorpus(dir, "", []string{"rte", "sst2"}, "")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	// Both sentences of an RTE pair, one per line; tasks are separate documents.
	for _, want := range []string{"No Weapons of Mass Destruction Found in Iraq Yet.\nWeapons of Mass Destruction Found in Iraq.\n", "\n\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("corpus lacks %q", want)
		}
	}
	// No dev sentence may leak into pre-training.
	for _, name := range []string{"rte", "sst2"} {
		task, _ := glue.Lookup(name)
		dev, err := task.Load("", glue.Validation)
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range dev[:50] {
			if strings.Contains(text, ex.TextA+"\n") && !strings.Contains(trainText(t, task), ex.TextA) {
				t.Errorf("%s dev sentence %q in the corpus", name, ex.TextA)
			}
		}
	}
	// A second call with the same tasks leaves the file (and so the corpus cache) alone.
	st1, _ := os.Stat(path)
	if _, err := GLUETrainCorpus(dir, "", []string{"rte", "sst2"}, ""); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(path); !st2.ModTime().Equal(st1.ModTime()) {
		t.Error("identical corpus rewritten")
	}
	if _, err := GLUETrainCorpus(dir, "", []string{"nosuchtask"}, ""); err == nil || !strings.Contains(err.Error(), "nosuchtask") {
		t.Errorf("unknown task: err = %v", err)
	}
}

func trainText(t *testing.T, task *glue.Task) string {
	ex, err := task.Load("", glue.Train)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ex {
		b.WriteString(e.TextA + "\n" + e.TextB + "\n")
	}
	return b.String()
}

// TestGLUETrainCorpusPairs: with a separator, each RTE pair is one line that
// the tokenizer turns into the pair encoding fine-tuning feeds the model
// ([CLS] A [SEP] B [SEP]); single-sentence tasks keep one line per sentence.
func TestGLUETrainCorpusPairs(t *testing.T) {
	dir := t.TempDir()
	path, err := GLUETrainCorpus(dir, "", []string{"rte", "sst2"}, "[SEP]")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "glue-train-pairs.txt" {
		t.Errorf("pairs written to %s: a corpus of another shape needs another name (the token cache is keyed on it)", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	rte, _ := glue.Lookup("rte")
	train, err := rte.Load("", glue.Train)
	if err != nil {
		t.Fatal(err)
	}
	if want := train[0].TextA + " [SEP] " + train[0].TextB; lines[0] != want {
		t.Fatalf("first line %q, want %q", lines[0], want)
	}
	sst2, _ := glue.Lookup("sst2")
	sst2Train, err := sst2.Load("", glue.Train)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lines[len(train)+1], sst2Train[0].TextA; got != want { // after RTE and the blank line between tasks
		t.Errorf("SST-2's first line %q, want %q", got, want)
	}

	tok, err := tokenizer.Load("../tokenizer/testdata/bert-base-uncased")
	if err != nil {
		t.Fatal(err)
	}
	line := append([]int32{tok.ClsID()}, tok.IDs(lines[0])...)
	line = append(line, tok.SepID())
	pair := tok.Encode(train[0].TextA, train[0].TextB, true, 512)
	if !slices.Equal(line, pair.InputIDs) {
		t.Errorf("pair line tokenises to %v, fine-tuning's pair encoding is %v", line, pair.InputIDs)
	}
	// And the masker gives it fine-tuning's token types.
	T := len(line)
	seq := make([]uint16, T)
	for i, id := range line {
		seq[i] = uint16(id)
	}
	mk := &Masker{Prob: 0.15, MaskID: tok.MaskID(), PadID: tok.PadID(), VocabSize: tok.VocabSize(), MaxMaskedPerBatch: T, SegmentSep: tok.SepID()}
	b := &model.Batch{B: 1, T: T, InputIDs: make([]int32, T), TokenTypeIDs: make([]int32, T), AttentionMask: make([]int32, T), MLMLabels: make([]int32, T)}
	mk.Mask(b, [][]uint16{seq}, rand.New(rand.NewPCG(1, 1)))
	if !slices.Equal(b.TokenTypeIDs, pair.TokenTypeIDs) {
		t.Errorf("pair line's token types %v, fine-tuning's %v", b.TokenTypeIDs, pair.TokenTypeIDs)
	}
}
