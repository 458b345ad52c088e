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
func GLUETrainCorpus(outputDir, dataDir string, tasks []string) (string, error) {
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
			fmt.Fprintln(w, ex.TextA)
			if ex.HasPair {
				fmt.Fprintln(w, ex.TextB)
			}
		}
	}
	if err := w.Flush(); err != nil {
		return "", err
	}
	path := filepath.Join(outputDir, "glue-train.txt")
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
