package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"unicode/utf8"
)

// The loaders' fuzz targets start from the real files in testdata, cut to
// their first ids so that a load takes microseconds, not milliseconds.
const seedVocab = 1200

// seedFiles holds the cut-down real files, built once.
var seedFiles = sync.OnceValues(func() (map[string][]byte, error) {
	files := map[string][]byte{}
	vocabTxt, err := os.ReadFile("testdata/bert-base-uncased/vocab.txt")
	if err != nil {
		return nil, err
	}
	lines := bytes.SplitAfter(vocabTxt, []byte("\n"))
	files["vocab.txt"] = bytes.Join(lines[:seedVocab], nil)

	var tj map[string]any
	if err := readJSON("testdata/bert-base-uncased/tokenizer.json", &tj); err != nil {
		return nil, err
	}
	model := tj["model"].(map[string]any)
	model["vocab"] = keepIDs(model["vocab"].(map[string]any), func(id float64) bool { return id < seedVocab })
	if files["bert/tokenizer.json"], err = json.Marshal(tj); err != nil {
		return nil, err
	}

	var vocab map[string]any
	if err := readJSON("testdata/roberta-base/vocab.json", &vocab); err != nil {
		return nil, err
	}
	// The first ids, the 256 byte symbols, and <mask> at 50264 as in
	// roberta-base.
	byteIDs := map[float64]bool{}
	for _, r := range byteToRune {
		byteIDs[vocab[string(r)].(float64)] = true
	}
	vocab = keepIDs(vocab, func(id float64) bool { return id < seedVocab || byteIDs[id] || id == 50264 })
	merges, err := os.ReadFile("testdata/roberta-base/merges.txt")
	if err != nil {
		return nil, err
	}
	kept := []string{"#version: 0.2"}
	var pairs []string
	for _, m := range strings.Split(string(merges), "\n")[1:] {
		a, b, ok := strings.Cut(m, " ")
		if ok && vocab[a] != nil && vocab[b] != nil && vocab[a+b] != nil {
			kept, pairs = append(kept, m), append(pairs, m)
		}
	}
	files["merges.txt"] = []byte(strings.Join(kept, "\n") + "\n")
	if files["vocab.json"], err = json.Marshal(vocab); err != nil {
		return nil, err
	}
	// roberta-base's files as HF tokenizers serialises them.
	roberta := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil,
		"added_tokens": []any{
			map[string]any{"id": 0, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": true},
			map[string]any{"id": 1, "content": "<pad>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": true},
			map[string]any{"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": true},
			map[string]any{"id": 3, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": true},
			map[string]any{"id": 50264, "content": "<mask>", "single_word": false, "lstrip": true, "rstrip": false, "normalized": false, "special": true},
		},
		"normalizer":     nil,
		"pre_tokenizer":  map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
		"post_processor": map[string]any{"type": "RobertaProcessing", "sep": []any{"</s>", 2}, "cls": []any{"<s>", 0}, "trim_offsets": true, "add_prefix_space": false},
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "", "end_of_word_suffix": "",
			"fuse_unk": false, "byte_fallback": false, "ignore_merges": false, "vocab": vocab, "merges": pairs},
	}
	if files["roberta/tokenizer.json"], err = json.Marshal(roberta); err != nil {
		return nil, err
	}
	for name, path := range map[string]string{"bert-cased": "testdata/bert-base-cased", "bert-mini": "../models/subtune-bert-mini"} {
		if files[name+"/tokenizer_config.json"], err = os.ReadFile(filepath.Join(path, "tokenizer_config.json")); err != nil {
			return nil, err
		}
	}
	files["roberta/tokenizer_config.json"] = []byte(`{"add_prefix_space": false, "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
		"sep_token": "</s>", "cls_token": "<s>", "pad_token": "<pad>", "model_max_length": 512, "errors": "replace",
		"mask_token": {"__type": "AddedToken", "content": "<mask>", "lstrip": true, "normalized": true, "rstrip": false, "single_word": false}}`)
	return files, nil
})

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func keepIDs(vocab map[string]any, keep func(float64) bool) map[string]any {
	out := map[string]any{}
	for tok, id := range vocab {
		if keep(id.(float64)) {
			out[tok] = id
		}
	}
	return out
}

func seeds(f *testing.F) map[string][]byte {
	files, err := seedFiles()
	if err != nil {
		f.Fatal(err)
	}
	return files
}

// configs are the tokenizer_config.json seeds: none, and the real ones.
func configs(files map[string][]byte) [][]byte {
	return [][]byte{nil, files["bert-cased/tokenizer_config.json"], files["bert-mini/tokenizer_config.json"], files["roberta/tokenizer_config.json"]}
}

// FuzzLoadTokenizerJSON loads arbitrary tokenizer.json and
// tokenizer_config.json files.
func FuzzLoadTokenizerJSON(f *testing.F) {
	files := seeds(f)
	for _, cfg := range configs(files) {
		f.Add(files["bert/tokenizer.json"], cfg)
		f.Add(files["roberta/tokenizer.json"], cfg)
	}
	// Small files, whose every byte the mutator reaches often.
	f.Add([]byte(`{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[PAD]": 3, "a": 4, "##b": 5}},
		"pre_tokenizer": {"type": "BertPreTokenizer"}, "normalizer": {"type": "BertNormalizer", "lowercase": true},
		"added_tokens": [{"id": 1, "content": "[CLS]", "special": true}, {"id": 6, "content": "[MASK]", "special": true}]}`), []byte(nil))
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"<s>": 0, "<pad>": 1, "</s>": 2, "a": 3, "b": 4, "ab": 5}, "merges": [["a", "b"]]},
		"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true}, "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0]},
		"added_tokens": [{"id": 6, "content": "<mask>", "lstrip": true, "special": true}]}`), []byte(`{"model_max_length": 8}`))
	f.Fuzz(func(t *testing.T, tokJSON, cfg []byte) {
		checkLoad(t, map[string][]byte{"tokenizer.json": tokJSON, "tokenizer_config.json": cfg})
	})
}

// FuzzLoadVocabTxt loads arbitrary vocab.txt and tokenizer_config.json files.
func FuzzLoadVocabTxt(f *testing.F) {
	files := seeds(f)
	for _, cfg := range configs(files) {
		f.Add(files["vocab.txt"], cfg)
	}
	f.Add([]byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n##b\n"), []byte(nil))
	f.Fuzz(func(t *testing.T, vocab, cfg []byte) {
		checkLoad(t, map[string][]byte{"vocab.txt": vocab, "tokenizer_config.json": cfg})
	})
}

// FuzzLoadBPE loads arbitrary vocab.json, merges.txt and
// tokenizer_config.json files.
func FuzzLoadBPE(f *testing.F) {
	files := seeds(f)
	for _, cfg := range configs(files) {
		f.Add(files["vocab.json"], files["merges.txt"], cfg)
	}
	f.Add([]byte(`{"<s>":0,"<pad>":1,"</s>":2,"<unk>":3,"a":4,"b":5,"ab":6}`), []byte("a b\n"), []byte(nil))
	f.Fuzz(func(t *testing.T, vocab, merges, cfg []byte) {
		checkLoad(t, map[string][]byte{"vocab.json": vocab, "merges.txt": merges, "tokenizer_config.json": cfg})
	})
}

// FuzzTokenizerConfig loads arbitrary tokenizer_config.json files next to
// each kind of real vocabulary.
func FuzzTokenizerConfig(f *testing.F) {
	files := seeds(f)
	for _, cfg := range configs(files) {
		for kind := range 3 {
			f.Add(cfg, uint8(kind))
		}
	}
	f.Add([]byte(`{"added_tokens_decoder": {"1200": {"content": "<new>", "special": false}}, "model_max_length": 1e30}`), uint8(1))
	f.Fuzz(func(t *testing.T, cfg []byte, kind uint8) {
		var dir map[string][]byte
		switch kind % 3 {
		case 0:
			dir = map[string][]byte{"tokenizer.json": files["bert/tokenizer.json"]}
		case 1:
			dir = map[string][]byte{"vocab.txt": files["vocab.txt"]}
		default:
			dir = map[string][]byte{"vocab.json": files["vocab.json"], "merges.txt": files["merges.txt"]}
		}
		dir["tokenizer_config.json"] = cfg
		checkLoad(t, dir)
	})
}

// fuzzTexts exercise normalisation, added tokens and pairs.
var fuzzTexts = []string{"", "Hello, world!", "naïve CAFÉ 中文 [MASK] <mask> x", "don't\tstop\u00a0 ##s", "a\xffb"}

// checkLoad loads a folder holding files (empty: absent). Loading must not
// panic; a rejection names the folder or a file in it; an accepted
// tokenizer is well formed (every id it produces is in the vocabulary) and
// comes back unchanged from the files Save writes.
func checkLoad(t *testing.T, files map[string][]byte) {
	const dir = "fuzzdir"
	tok, err := load(folder{mapFS(files), dir})
	if err != nil {
		if !strings.Contains(err.Error(), dir) {
			t.Fatalf("error does not name the folder or file: %v", err)
		}
		if !utf8.ValidString(err.Error()) {
			t.Fatalf("error message is not valid UTF-8: %q", err)
		}
		return
	}
	checkTokenizer(t, tok)
	saved, err := tok.files()
	if err != nil {
		t.Fatalf("a loaded tokenizer cannot be saved: %v", err)
	}
	again, err := load(folder{mapFS(saved), "saved"})
	if err != nil {
		t.Fatalf("the saved tokenizer does not load: %v", err)
	}
	if a, b := describe(tok), describe(again); a != b {
		t.Fatalf("save and load changed the tokenizer:\n%s\n%s", a, b)
	}
	for _, s := range append(fuzzTexts, strings.Join(tok.idToToken[:min(64, len(tok.idToToken))], " ")) {
		for _, pair := range []bool{false, true} {
			a, b := tok.Encode(s, s, pair, 0), again.Encode(s, s, pair, 0)
			if !slices.Equal(a.InputIDs, b.InputIDs) || !slices.Equal(a.TokenTypeIDs, b.TokenTypeIDs) {
				t.Fatalf("save and load changed the encoding of %q:\n%v\n%v", s, a, b)
			}
		}
	}
}

func mapFS(files map[string][]byte) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range files {
		if len(data) > 0 {
			fsys[name] = &fstest.MapFile{Data: data}
		}
	}
	return fsys
}

func describe(t *Tokenizer) string {
	return fmt.Sprintf("%s: %d ids, max length %d, special ids %d %d %d %d %d",
		t.Kind(), t.VocabSize(), t.MaxLength(), t.ClsID(), t.SepID(), t.PadID(), t.MaskID(), t.UnkID())
}

// checkTokenizer checks the invariants of a loaded tokenizer.
func checkTokenizer(t *testing.T, tok *Tokenizer) {
	t.Helper()
	n := tok.VocabSize()
	if n <= 0 {
		t.Fatalf("vocabulary of %d ids", n)
	}
	for _, id := range []int32{tok.ClsID(), tok.SepID(), tok.PadID()} {
		if tok.Token(id) == "" {
			t.Fatalf("special id %d has no token", id)
		}
	}
	for _, id := range []int32{tok.MaskID(), tok.UnkID()} {
		if id != -1 && tok.Token(id) == "" {
			t.Fatalf("special id %d has no token", id)
		}
	}
	for tokStr, id := range tok.vocab {
		if id < 0 || int(id) >= n {
			t.Fatalf("token %q has id %d outside [0, %d)", tokStr, id, n)
		}
	}
	for _, s := range fuzzTexts {
		for _, maxLen := range []int{0, 5} {
			enc := tok.Encode(s, s, true, maxLen)
			for _, id := range enc.InputIDs {
				if tok.Token(id) == "" {
					t.Fatalf("%q gives id %d, which has no token", s, id)
				}
			}
		}
	}
}
