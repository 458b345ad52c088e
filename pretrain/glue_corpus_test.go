package pretrain

import (
	"os"
	"strings"
	"testing"

	"github.com/subtune/subtune/glue"
)

func TestGLUETrainCorpus(t *testing.T) {
	dir := t.TempDir()
	path, err := GLUETrainCorpus(dir, "", []string{"rte", "sst2"})
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
	if _, err := GLUETrainCorpus(dir, "", []string{"rte", "sst2"}); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(path); !st2.ModTime().Equal(st1.ModTime()) {
		t.Error("identical corpus rewritten")
	}
	if _, err := GLUETrainCorpus(dir, "", []string{"nosuchtask"}); err == nil || !strings.Contains(err.Error(), "nosuchtask") {
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
