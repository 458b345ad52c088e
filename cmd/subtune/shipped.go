package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
)

// modulePath names the repository whose shipped files the defaults of
// reproduce and pretrain point into.
const modulePath = "github.com/subtune/subtune"

// shippedDefault returns the value of a flag whose default names a file
// shipped with subtune (or, for the corpus, beside it), relative to the
// repository root: as given when the flag was set; else the default under
// the repository found above the working directory or the executable. It
// may be a glob, which must match. When nothing is found the error says
// where it looked and which flag to pass.
func shippedDefault(fs *pflag.FlagSet, name string) (string, error) {
	f := fs.Lookup(name)
	if f.Changed || filepath.IsAbs(f.Value.String()) {
		return f.Value.String(), nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
	}
	path, looked := findShipped(f.Value.String(), starts)
	if path != "" {
		return path, nil
	}
	where := "no subtune repository (a go.mod of " + modulePath + ") above " + strings.Join(starts, " or ")
	if len(looked) > 0 {
		where = "looked for " + strings.Join(looked, " and ")
	}
	return "", fmt.Errorf("--%s: the default %s was not found: %s; pass --%s", name, f.Value.String(), where, name)
}

// findShipped looks for rel under every repository root above the start
// folders, nearest first, and returns the first that exists (a glob must
// match), with the candidates it tried.
func findShipped(rel string, starts []string) (path string, looked []string) {
	seen := map[string]bool{}
	for _, start := range starts {
		for dir := start; !seen[dir]; dir = filepath.Dir(dir) {
			seen[dir] = true
			if isRepoRoot(dir) {
				p := filepath.Join(dir, rel)
				looked = append(looked, p)
				if m, _ := filepath.Glob(p); len(m) > 0 {
					return p, looked
				}
			}
		}
	}
	return "", looked
}

// isRepoRoot reports whether dir holds the go.mod of subtune's module.
func isRepoRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(m), `"`) == modulePath
		}
	}
	return false
}
