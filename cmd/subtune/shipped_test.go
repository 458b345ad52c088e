package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestFindShipped: a default is looked up under the nearest subtune
// repository above each start folder, and only there.
func TestFindShipped(t *testing.T) {
	tmp := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(tmp, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("clone/go.mod", "// comment\nmodule github.com/subtune/subtune\n\ngo 1.26\n")
	write("clone/models/m/config.json", "{}")
	write("clone/sub/dir/x", "")
	write("shared/corpus/a.txt", "text")
	write("other/go.mod", "module example.com/other\n")
	write("other/models/m/config.json", "{}")
	write("bin/subtune", "")
	for _, tc := range []struct {
		rel    string
		starts []string
		want   string
		looked int
	}{
		{"models/m", []string{filepath.Join(tmp, "clone/sub/dir")}, filepath.Join(tmp, "clone/models/m"), 1},
		{"models/m", []string{filepath.Join(tmp, "other"), filepath.Join(tmp, "clone")}, filepath.Join(tmp, "clone/models/m"), 1},
		{"../shared/corpus/*.txt", []string{filepath.Join(tmp, "clone")}, filepath.Join(tmp, "shared/corpus/*.txt"), 1},
		{"models/none", []string{filepath.Join(tmp, "clone/sub"), filepath.Join(tmp, "bin")}, "", 1},
		{"models/m", []string{filepath.Join(tmp, "other"), filepath.Join(tmp, "bin")}, "", 0},
	} {
		got, looked := findShipped(tc.rel, tc.starts)
		if got != tc.want || len(looked) != tc.looked {
			t.Errorf("findShipped(%s, %v) = %q after %v, want %q after %d candidates", tc.rel, tc.starts, got, looked, tc.want, tc.looked)
		}
	}
}

// TestShippedDefaults: the defaults of reproduce and pretrain resolve from
// any folder of the repository, and from elsewhere give an error naming
// where they were looked for and the flag to pass; a flag given is used as
// it is.
func TestShippedDefaults(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("model_name_or_path", defaultModel, "")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	got, err := shippedDefault(fs, "model_name_or_path")
	if want := filepath.Join(root, defaultModel); err != nil || got != want {
		t.Errorf("from cmd/subtune: %q, %v; want %q", got, err, want)
	}
	fs.Set("model_name_or_path", "my/model")
	if got, err := shippedDefault(fs, "model_name_or_path"); err != nil || got != "my/model" {
		t.Errorf("a given flag: %q, %v", got, err)
	}

	elsewhere := t.TempDir()
	t.Chdir(elsewhere)
	for _, tc := range []struct {
		args []string
		want string
		flag string // the flag the error says to pass
	}{
		{[]string{"reproduce", "--output_dir", filepath.Join(elsewhere, "r")},
			"--model_name_or_path: the default models/subtune-bert-mini was not found: no subtune repository (a go.mod of github.com/subtune/subtune) above " + elsewhere, "model_name_or_path"},
		{[]string{"pretrain", "--output_dir", filepath.Join(elsewhere, "p")},
			"--tokenizer: the default tokenizer/testdata/bert-base-uncased was not found: no subtune repository (a go.mod of github.com/subtune/subtune) above " + elsewhere, "tokenizer"},
		{[]string{"pretrain", "export", "--run", filepath.Join(elsewhere, "p")}, "--tokenizer: the default tokenizer/testdata/bert-base-uncased was not found", "tokenizer"},
		{[]string{"pretrain", "--output_dir", filepath.Join(elsewhere, "p"), "--tokenizer", filepath.Join(root, shippedTokenizer), "--corpus", "none/*.txt"},
			`--corpus "none/*.txt" matches no files`, ""},
	} {
		_, err := runRoot(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || tc.flag != "" && !strings.HasSuffix(err.Error(), "pass --"+tc.flag) {
			t.Errorf("%v: err = %v, want %q and to pass --%s", tc.args, err, tc.want, tc.flag)
		}
	}
}
