package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadSpecialTokens(t *testing.T) {
	tests := []struct {
		dir                      string
		kind                     string
		vocabSize                int
		pad, cls, sep, mask, unk int32
		maxLength                int
	}{
		{"testdata/bert-base-uncased", KindWordPiece, 30522, 0, 101, 102, 103, 100, 0},
		{"testdata/bert-base-cased", KindWordPiece, 28996, 0, 101, 102, 103, 100, 512},
		{"testdata/roberta-base", KindBPE, 50265, 1, 0, 2, 50264, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			tok, err := Load(tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			got := []any{tok.Kind(), tok.VocabSize(), tok.PadID(), tok.ClsID(), tok.SepID(), tok.MaskID(), tok.UnkID(), tok.MaxLength()}
			want := []any{tt.kind, tt.vocabSize, tt.pad, tt.cls, tt.sep, tt.mask, tt.unk, tt.maxLength}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("kind, vocab size, pad, cls, sep, mask, unk, max length = %v, want %v", got, want)
					break
				}
			}
		})
	}
}

// TestMaxLengthFromConfig checks that config.json's max_position_embeddings
// caps Encode, minus RoBERTa's two offset positions.
func TestMaxLengthFromConfig(t *testing.T) {
	dir := vocabOnly(t, "testdata/roberta-base", "vocab.json", "merges.txt")
	writeFile(t, dir, "config.json", `{"model_type": "roberta", "max_position_embeddings": 10, "pad_token_id": 1}`)
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.MaxLength() != 8 {
		t.Errorf("MaxLength() = %d, want 8", tok.MaxLength())
	}
	if n := len(tok.Encode(strings.Repeat("word ", 50), "", false, 128).InputIDs); n != 8 {
		t.Errorf("Encode gave %d ids, want 8", n)
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrors(t *testing.T) {
	bertVocab := "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n"
	bpeVocab := `{"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "a": 4, "b": 5, "ab": 6, "<mask>": 7}`
	tests := []struct {
		name  string
		files map[string]string
		want  string // substring of the error
	}{
		{"empty folder", nil, "want tokenizer.json, vocab.txt, or vocab.json with merges.txt"},
		{"vocab.json alone", map[string]string{"vocab.json": bpeVocab}, "vocab.json but no merges.txt"},
		{"vocab.txt invalid UTF-8", map[string]string{"vocab.txt": "[PAD]\n[UNK]\nab\xffc\n"}, "vocab.txt:3: invalid UTF-8"},
		{"vocab.txt empty line", map[string]string{"vocab.txt": "[PAD]\n\n[UNK]\n"}, "vocab.txt:2: empty token"},
		{"vocab.txt without [UNK]", map[string]string{"vocab.txt": "[PAD]\n[CLS]\n"}, `unk token "[UNK]" is not in the vocabulary`},
		{"vocab.txt without [SEP]", map[string]string{"vocab.txt": "[PAD]\n[UNK]\n[CLS]\n"}, `special token "[SEP]" is not in the vocabulary`},
		{"vocab.json syntax", map[string]string{"vocab.json": "{\n\"a\": 1,\n\"b\" 2}", "merges.txt": ""}, "vocab.json:3:"},
		{"vocab.json type", map[string]string{"vocab.json": "{\n\"a\": \"x\"}", "merges.txt": ""}, "vocab.json:2:"},
		{"merges.txt one symbol", map[string]string{"vocab.json": bpeVocab, "merges.txt": "#version: 0.2\na b\nab\n"}, "merges.txt:3: want two symbols"},
		{"merges.txt unknown symbol", map[string]string{"vocab.json": bpeVocab, "merges.txt": "#version: 0.2\na c\n"}, `merges.txt:2: symbol "c" is not in the vocabulary`},
		{"merges.txt unknown result", map[string]string{"vocab.json": bpeVocab, "merges.txt": "b a\n"}, `merges.txt:1: merged symbol "ba" is not in the vocabulary`},
		{"tokenizer_config.json syntax", map[string]string{"vocab.txt": bertVocab, "tokenizer_config.json": "{\n\"do_lower_case\": tru\n}"}, "tokenizer_config.json:2:"},
		{"tokenizer.json syntax", map[string]string{"tokenizer.json": "{\"model\": ["}, "tokenizer.json:1:"},
		{"tokenizer.json normalizer", map[string]string{"tokenizer.json": `{"normalizer": {"type": "NFKC"}, "pre_tokenizer": {"type": "BertPreTokenizer"},
			"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0}}}`}, `tokenizer.json: unsupported normalizer "NFKC"`},
		{"tokenizer.json model", map[string]string{"tokenizer.json": `{"model": {"type": "Unigram", "vocab": {"a": 0}}}`}, `unsupported model type "Unigram"`},
		{"vocab.json negative id", map[string]string{"vocab.json": `{"<s>": 0, "<pad>": 1, "</s>": 2, "a": -4}`, "merges.txt": ""}, `vocab.json: token "a" has id -4, want 0 ≤ id < 4194304`},
		{"vocab.json huge id", map[string]string{"vocab.json": `{"<s>": 0, "<pad>": 1, "</s>": 2, "a": 2147483647}`, "merges.txt": ""}, `token "a" has id 2147483647`},
		{"vocab.json shared id", map[string]string{"vocab.json": `{"<s>": 0, "<pad>": 1, "</s>": 2, "a": 2}`, "merges.txt": ""}, `tokens "</s>" and "a" have the same id 2`},
		{"tokenizer.json negative added id", map[string]string{"tokenizer.json": `{"pre_tokenizer": {"type": "BertPreTokenizer"},
			"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[PAD]": 3}}, "added_tokens": [{"id": -7, "content": "x"}]}`}, `added token "x" has id -7`},
		{"added token moved", map[string]string{"vocab.txt": bertVocab, "tokenizer_config.json": `{"added_tokens_decoder": {"9": {"content": "[UNK]"}}}`},
			`added token "[UNK]" has id 9, but 1 elsewhere`},
		{"added token over another", map[string]string{"vocab.txt": bertVocab, "tokenizer_config.json": `{"added_tokens_decoder": {"5": {"content": "<new>"}}}`},
			`added token "<new>" has id 5, which is "hello"'s`},
		{"added token key", map[string]string{"vocab.txt": bertVocab, "tokenizer_config.json": `{"added_tokens_decoder": {"x1": {"content": "<new>"}}}`},
			`tokenizer_config.json: added_tokens_decoder: key "x1" is not a token id`},
		{"model_max_length", map[string]string{"vocab.txt": bertVocab, "tokenizer_config.json": `{"model_max_length": 0}`},
			`tokenizer_config.json: model_max_length 0: want a positive whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, dir, name, content)
			}
			_, err := Load(dir)
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error %q does not contain %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("Load error %q does not name the folder", err)
			}
		})
	}
}

func TestLoadNotADirectory(t *testing.T) {
	if _, err := Load("testdata/bert-base-uncased/vocab.txt"); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Load(file) error = %v, want not a directory", err)
	}
	if _, err := Load("testdata/missing"); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("Load(missing) error = %v, want a not-exist error", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// TestSaveRoundTrip saves each tokenizer, reloads the folder and checks that
// the copy encodes every golden input identically.
func TestSaveRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		dir    func(t *testing.T) string
		golden string
		files  []string
	}{
		{"bert-base-uncased/tokenizer.json", func(*testing.T) string { return "testdata/bert-base-uncased" }, "bert-base-uncased.jsonl",
			[]string{"tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}},
		{"bert-base-uncased/vocab.txt", func(t *testing.T) string { return vocabOnly(t, "testdata/bert-base-uncased", "vocab.txt") }, "bert-base-uncased.jsonl",
			[]string{"vocab.txt", "tokenizer_config.json"}},
		{"bert-base-cased", func(*testing.T) string { return "testdata/bert-base-cased" }, "bert-base-cased.jsonl",
			[]string{"vocab.txt", "tokenizer_config.json"}},
		{"roberta-base", func(*testing.T) string { return "testdata/roberta-base" }, "roberta-base.jsonl",
			[]string{"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig, err := Load(tt.dir(t))
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			if err := orig.Save(out); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(out)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			for _, f := range tt.files {
				if !strings.Contains(strings.Join(names, " "), f) {
					t.Errorf("Save wrote %v, missing %s", names, f)
				}
			}
			copied, err := Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if copied.Kind() != orig.Kind() || copied.VocabSize() != orig.VocabSize() || copied.MaxLength() != orig.MaxLength() ||
				copied.PadID() != orig.PadID() || copied.MaskID() != orig.MaskID() || copied.UnkID() != orig.UnkID() {
				t.Fatal("reloaded tokenizer differs in kind, size, limit or special ids")
			}
			for i, g := range readGolden(t, tt.golden) {
				if !checkGolden(t, copied, i+1, g) {
					t.FailNow()
				}
			}
			// Saving the copy again gives the same files.
			again := t.TempDir()
			if err := copied.Save(again); err != nil {
				t.Fatal(err)
			}
			for _, name := range names {
				a, _ := os.ReadFile(filepath.Join(out, name))
				b, _ := os.ReadFile(filepath.Join(again, name))
				if string(a) != string(b) {
					t.Errorf("%s differs between two saves", name)
				}
			}
		})
	}
}
