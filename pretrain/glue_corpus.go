package pretrain

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/glue"
)

// GLUETrainCorpus writes the train-split sentences of the given GLUE tasks
// (from dataDir, "" for the files shipped with subtune) to OutputDir as a
// corpus file, one sentence per line and one document per task, and returns
// its path. Only train splits are read: dev and test text must never reach
// pre-training. An existing identical file is left untouched so that the
// corpus cache, keyed on modification times, stays valid across resumes.
//
// With pairSep non-empty, the two sentences of a pair task's example share
// one line, joined by pairSep (the tokenizer's separator, "[SEP]" for BERT):
// the tokenizer keeps it as the special token, as HuggingFace's does, so the
// line becomes [CLS] A [SEP] B [SEP], the input a pair task is fine-tuned on,
// and masked-LM learns to predict tokens of one sentence from the other.
func GLUETrainCorpus(outputDir, dataDir string, tasks []string, pairSep string) (string, error) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	for i, name := range tasks {
		task, err := glue.Lookup(name)
		if err != nil {
			return "", err
		}
		examples, err := task.Load(dataDir, glue.Train)
		if err != nil {
			return "", fmt.Errorf("GLUE train sentences for pre-training: %w", err)
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		for _, ex := range examples {
			switch {
			case ex.HasPair && pairSep != "":
				fmt.Fprintln(w, ex.TextA, pairSep, ex.TextB)
			case ex.HasPair:
				fmt.Fprintln(w, ex.TextA)
				fmt.Fprintln(w, ex.TextB)
			default:
				fmt.Fprintln(w, ex.TextA)
			}
		}
	}
	if err := w.Flush(); err != nil {
		return "", err
	}
	name := "glue-train.txt"
	if pairSep != "" {
		name = "glue-train-pairs.txt"
	}
	path := filepath.Join(outputDir, name)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, buf.Bytes()) {
		return path, nil
	}
	if err := os.MkdirAll(outputDir, 0o755); err != nil {
		return "", err
	}
	return path, atomicfile.WriteFile(path, func(out io.Writer) error {
		_, err := out.Write(buf.Bytes())
		return err
	})
}
