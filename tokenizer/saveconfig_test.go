package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestSaveKeepsConfigKeys: the tokenizer_config.json keys subtune does not
// interpret are written back as they were, and special_tokens_map.json
// names the special tokens by role, as transformers saves them.
func TestSaveKeepsConfigKeys(t *testing.T) {
	dir := vocabOnly(t, "testdata/bert-base-uncased", "vocab.txt")
	cfg := `{"do_lower_case": true, "clean_up_tokenization_spaces": true, "do_basic_tokenize": true,
		"never_split": null, "errors": "replace", "trim_offsets": true, "model_max_length": 512,
		"tokenizer_class": "BertTokenizer", "unk_token": "[UNK]", "custom": {"a": [1, 2]}}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := tok.Save(out); err != nil {
		t.Fatal(err)
	}
	var saved map[string]json.RawMessage
	readJSONFileT(t, filepath.Join(out, "tokenizer_config.json"), &saved)
	for k, want := range map[string]string{"clean_up_tokenization_spaces": "true", "do_basic_tokenize": "true", "never_split": "null",
		"errors": `"replace"`, "trim_offsets": "true", "custom": `{"a":[1,2]}`, "do_lower_case": "true", "model_max_length": "512"} {
		var got, w any
		json.Unmarshal(saved[k], &got)
		json.Unmarshal([]byte(want), &w)
		if b1, _ := json.Marshal(got); string(b1) != mustMarshal(w) || saved[k] == nil {
			t.Errorf("%s = %s, want %s", k, saved[k], want)
		}
	}
	var special map[string]string
	readJSONFileT(t, filepath.Join(out, "special_tokens_map.json"), &special)
	want := map[string]string{"cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]", "sep_token": "[SEP]", "unk_token": "[UNK]"}
	if len(special) != len(want) {
		t.Errorf("special_tokens_map.json = %v, want %v", special, want)
	}
	for k, v := range want {
		if special[k] != v {
			t.Errorf("special_tokens_map.json %s = %q, want %q", k, special[k], v)
		}
	}
	// What is saved loads again, and saves the same.
	again, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	out2 := t.TempDir()
	if err := again.Save(out2); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(out, "tokenizer_config.json"))
	b, _ := os.ReadFile(filepath.Join(out2, "tokenizer_config.json"))
	if string(a) != string(b) {
		t.Errorf("a second save differs:\n%s\n%s", a, b)
	}
}

func readJSONFileT(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
