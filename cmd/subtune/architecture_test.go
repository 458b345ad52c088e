package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestArchitectureImports: ARCHITECTURE.md's package table names, for each
// package, the project's packages it imports (beside outside modules), so
// the map of the code cannot drift from the code. Imports are read from
// every non-test file, whatever its build tags.
func TestArchitectureImports(t *testing.T) {
	const root, module = "../..", "github.com/subtune/subtune/"
	data, err := os.ReadFile(filepath.Join(root, "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile("`([^`]+)`")
	rows := 0
	for _, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if !strings.HasPrefix(line, "| `") || len(cells) != 3 {
			continue
		}
		pkgs := name.FindAllStringSubmatch(cells[0], -1)
		if len(pkgs) != 1 {
			continue // a row for several test helpers
		}
		pkg := pkgs[0][1]
		var listed []string
		deps, _, _ := strings.Cut(cells[2], ";") // outside modules follow the semicolon, or sit among them
		for _, d := range strings.Split(deps, ",") {
			d = strings.TrimSpace(d)
			if st, err := os.Stat(filepath.Join(root, d)); err == nil && st.IsDir() && d != "" {
				listed = append(listed, d)
			}
		}
		got := projectImports(t, filepath.Join(root, pkg), module)
		slices.Sort(listed)
		if !slices.Equal(got, listed) {
			t.Errorf("ARCHITECTURE.md lists %s as importing %v; it imports %v", pkg, listed, got)
		}
		rows++
	}
	if rows < 20 {
		t.Errorf("read %d package rows from ARCHITECTURE.md: has its table changed shape?", rows)
	}
}

// projectImports are the module's packages that dir's non-test files
// import, sorted, relative to the module.
func projectImports(t *testing.T, dir, module string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no Go files (%v)", dir, err)
	}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if rel, ok := strings.CutPrefix(p, module); ok && !slices.Contains(out, rel) {
				out = append(out, rel)
			}
		}
	}
	slices.Sort(out)
	return out
}
