package glue

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// The shipped task files are embedded so that the binary needs no checkout:
// `subtune finetune --task_name rte` works anywhere.
//
//go:embed data
var embedded embed.FS

// shippedPrefix names embedded files in messages by their place in the
// repository.
const shippedPrefix = "glue/data"

// ShippedData returns the task files shipped with subtune, laid out as a
// GLUE root: CoLA, SST-2, MRPC, STS-B, RTE (train, dev, test) and WNLI (dev
// only). See data/ATTRIBUTION.md for their sources and terms.
func ShippedData() fs.FS {
	sub, err := fs.Sub(embedded, "data")
	if err != nil {
		panic(err) // "data" is a valid path; fs.Sub cannot fail on it
	}
	return sub
}

// Load reads a split of the task. dataDir is either one task's folder
// (holding train.tsv, dev.tsv, ...) or a GLUE root holding the task folders
// under their GLUE names (CoLA, SST-2, ...); "" means the files shipped with
// subtune.
func (t *Task) Load(dataDir string, split Split) ([]Example, error) {
	if dataDir == "" {
		return t.load(ShippedData(), shippedPrefix, true, split)
	}
	return t.load(os.DirFS(dataDir), dataDir, false, split)
}

// LoadFS is Load on a file system: fsys is rooted at a task folder or at a
// GLUE root. Error messages name files by their path in fsys.
func (t *Task) LoadFS(fsys fs.FS, split Split) ([]Example, error) {
	return t.load(fsys, "", false, split)
}

// load reads a split from fsys; root, when not empty, is prefixed to file
// names in messages (the data dir, or the shipped data's place); shipped
// tells that fsys is the shipped data.
func (t *Task) load(fsys fs.FS, root string, shipped bool, split Split) ([]Example, error) {
	if err := t.checkSplit(split); err != nil {
		return nil, err
	}
	file := split.FileName()
	// A GLUE root holds the file in the task's folder, a task folder holds
	// it directly; the caller need not say which it passed.
	candidates := []string{path.Join(t.GLUEName, file), file}
	for _, name := range candidates {
		f, err := fsys.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("glue: %s: %w", t.Name, err)
		}
		examples, err := t.Read(f, displayName(root, name), split)
		f.Close()
		return examples, err
	}
	if shipped {
		return nil, fmt.Errorf("glue: %s: %s split is not shipped with subtune (shipped: CoLA, SST-2, MRPC, STS-B, RTE, and WNLI dev); pass a data dir holding the GLUE %s folder: %w",
			t.Name, split, t.GLUEName, fs.ErrNotExist)
	}
	where := make([]string, len(candidates))
	for i, c := range candidates {
		where[i] = displayName(root, c)
	}
	return nil, fmt.Errorf("glue: %s: no %s file for the %s split (looked for %s): %w",
		t.Name, file, split, strings.Join(where, " and "), fs.ErrNotExist)
}

func displayName(root, name string) string {
	if root == "" {
		return name
	}
	return filepath.Join(root, filepath.FromSlash(name))
}
