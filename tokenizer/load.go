package tokenizer

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Load reads the tokenizer in a model folder, like transformers'
// AutoTokenizer.from_pretrained on a local directory. It looks, in order,
// for:
//
//   - tokenizer.json (HF tokenizers format; BERT or RoBERTa pipelines),
//   - vocab.txt, a BERT WordPiece vocabulary,
//   - vocab.json with merges.txt, a RoBERTa/GPT-2 byte-level BPE.
//
// tokenizer_config.json, when present, supplies do_lower_case,
// strip_accents, tokenize_chinese_chars, add_prefix_space, model_max_length
// and the special tokens; config.json, when present, supplies
// max_position_embeddings. Both are optional.
func Load(dir string) (*Tokenizer, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("tokenizer: %s is not a directory", dir)
	}
	return load(folder{os.DirFS(dir), dir})
}

// A folder is where a tokenizer's files are read from: fsys, named dir in
// messages.
type folder struct {
	fsys fs.FS
	dir  string
}

func (f folder) path(name string) string { return filepath.Join(f.dir, name) }

func (f folder) has(name string) bool {
	_, err := fs.Stat(f.fsys, name)
	return err == nil
}

// read returns a file's contents; an error names the file by its path.
func (f folder) read(name string) ([]byte, error) {
	data, err := fs.ReadFile(f.fsys, name)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		pe.Path = f.path(name)
	}
	return data, err
}

func load(f folder) (*Tokenizer, error) {
	var tc tokenizerConfig
	if _, err := readJSONFile(f, "tokenizer_config.json", &tc); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if err := tc.check(); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", f.path("tokenizer_config.json"), err)
	}
	var mc modelConfig
	if _, err := readJSONFile(f, "config.json", &mc); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var t *Tokenizer
	var err error
	switch {
	case f.has("tokenizer.json"):
		t, err = loadTokenizerJSON(f, &tc)
	case f.has("vocab.txt"):
		t, err = loadWordPiece(f, &tc)
	case f.has("vocab.json") && f.has("merges.txt"):
		t, err = loadBPE(f, &tc)
	case f.has("vocab.json"):
		err = fmt.Errorf("%s has vocab.json but no merges.txt", f.dir)
	default:
		err = fmt.Errorf("%s: %w (want tokenizer.json, vocab.txt, or vocab.json with merges.txt)", f.dir, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t.maxLength = maxLength(&tc, &mc)
	t.src.config = tc
	return t, nil
}

// specialNames are the contents of the special tokens.
type specialNames struct {
	cls, sep, pad, mask, unk string
	flags                    map[string]tokenSpec // flags given in tokenizer_config.json
}

func wordPieceNames(tc *tokenizerConfig) specialNames {
	return specialNames{
		cls:   tc.ClsToken.content("[CLS]"),
		sep:   tc.SepToken.content("[SEP]"),
		pad:   tc.PadToken.content("[PAD]"),
		mask:  tc.MaskToken.content("[MASK]"),
		unk:   tc.UnkToken.content("[UNK]"),
		flags: specFlags(tc),
	}
}

func bpeNames(tc *tokenizerConfig) specialNames {
	return specialNames{
		cls:   tc.ClsToken.content(tc.BosToken.content("<s>")),
		sep:   tc.SepToken.content(tc.EosToken.content("</s>")),
		pad:   tc.PadToken.content("<pad>"),
		mask:  tc.MaskToken.content("<mask>"),
		unk:   tc.UnkToken.content("<unk>"),
		flags: specFlags(tc),
	}
}

func specFlags(tc *tokenizerConfig) map[string]tokenSpec {
	m := map[string]tokenSpec{}
	for _, s := range []*tokenSpec{tc.ClsToken, tc.SepToken, tc.PadToken, tc.MaskToken, tc.UnkToken, tc.BosToken, tc.EosToken} {
		if s != nil && !s.plain && s.Content != "" {
			m[s.Content] = *s
		}
	}
	return m
}

// loadWordPiece builds a BERT tokenizer from vocab.txt as transformers'
// BertTokenizer(Fast) does: lowercase unless do_lower_case is false, strip
// accents when lowercasing unless strip_accents says otherwise.
func loadWordPiece(f folder, tc *tokenizerConfig) (*Tokenizer, error) {
	path := f.path("vocab.txt")
	vocab, lines, err := readVocabTxt(f, "vocab.txt")
	if err != nil {
		return nil, err
	}
	lower := tc.DoLowerCase == nil || *tc.DoLowerCase
	chinese := tc.TokenizeChineseChars == nil || *tc.TokenizeChineseChars
	names := wordPieceNames(tc)
	unk, ok := vocab[names.unk]
	if !ok {
		return nil, fmt.Errorf("%s: unk token %q is not in the vocabulary", path, names.unk)
	}
	t := &Tokenizer{
		kind:  KindWordPiece,
		vocab: vocab,
		normalizer: &bertNormalizer{
			cleanText:    true,
			chineseChars: chinese,
			stripAccents: tc.StripAccents != nil && *tc.StripAccents || tc.StripAccents == nil && lower,
			lowercase:    lower,
		},
		wordPiece: &wordPiece{vocab: vocab, prefix: "##", maxChars: 100, unk: unk},
	}
	t.src.stripAccents = tc.StripAccents
	if err := t.finish(names, configAdded(tc)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for id, tok := range lines {
		if t.idToToken[id] == "" {
			t.idToToken[id] = tok // a repeated token's earlier line
		}
	}
	t.src.vocabLines = lines
	return t, nil
}

// loadBPE builds a RoBERTa tokenizer from vocab.json and merges.txt as
// transformers' RobertaTokenizer(Fast) does: no normaliser, no prefix space
// unless add_prefix_space, <mask> swallowing the spaces on its left.
func loadBPE(f folder, tc *tokenizerConfig) (*Tokenizer, error) {
	vocab, err := readVocabJSON(f, "vocab.json")
	if err != nil {
		return nil, err
	}
	mergesPath := f.path("merges.txt")
	merges, lines, err := readMerges(f, "merges.txt")
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{kind: KindBPE, vocab: vocab, robertaPairs: true}
	t.prefixSpace = tc.AddPrefixSpace != nil && *tc.AddPrefixSpace
	if err := t.setBPE(merges, func(i int) string { return fmt.Sprintf("%s:%d", mergesPath, lines[i]) }); err != nil {
		return nil, err
	}
	names := bpeNames(tc)
	if _, ok := names.flags[names.mask]; !ok {
		names.flags[names.mask] = tokenSpec{addedTokenJSON: addedTokenJSON{Content: names.mask, LStrip: true}}
	}
	if err := t.finish(names, configAdded(tc)); err != nil {
		return nil, fmt.Errorf("%s: %w", f.path("vocab.json"), err)
	}
	return t, nil
}

// setBPE builds the merge table; where(i) names merge i for errors.
func (t *Tokenizer) setBPE(merges [][2]string, where func(int) string) error {
	b := &bytePairs{merges: make(map[uint64]merge, len(merges)), cache: newWordCache()}
	for i, m := range merges {
		left, ok1 := t.vocab[m[0]]
		right, ok2 := t.vocab[m[1]]
		id, ok3 := t.vocab[m[0]+m[1]]
		switch {
		case !ok1:
			return fmt.Errorf("%s: symbol %q is not in the vocabulary", where(i), m[0])
		case !ok2:
			return fmt.Errorf("%s: symbol %q is not in the vocabulary", where(i), m[1])
		case !ok3:
			return fmt.Errorf("%s: merged symbol %q is not in the vocabulary", where(i), m[0]+m[1])
		}
		if _, dup := b.merges[pairKey(left, right)]; !dup {
			b.merges[pairKey(left, right)] = merge{rank: int32(i), id: id}
		}
	}
	for c, r := range byteToRune {
		b.byteIDs[c] = -1
		if id, ok := t.vocab[string(r)]; ok {
			b.byteIDs[c] = id
		}
	}
	t.bpe = b
	t.src.merges = merges
	return nil
}

// configAdded returns tokenizer_config.json's added_tokens_decoder (whose
// keys tokenizerConfig.check has checked), in id order.
func configAdded(tc *tokenizerConfig) []addedToken {
	var added []addedToken
	for key, a := range tc.AddedTokensDecoder {
		id, _ := strconv.ParseInt(key, 10, 32)
		added = append(added, a.token(int32(id), true))
	}
	slices.SortFunc(added, func(a, b addedToken) int { return cmp.Compare(a.ID, b.ID) })
	return added
}

// token converts the JSON form; special tokens default to not normalised,
// others to normalised, as transformers' AddedToken does.
func (a addedTokenJSON) token(id int32, special bool) addedToken {
	if a.Special != nil {
		special = *a.Special
	}
	normalized := !special
	if a.Normalized != nil {
		normalized = *a.Normalized
	}
	return addedToken{Content: a.Content, ID: id, SingleWord: a.SingleWord, LStrip: a.LStrip, RStrip: a.RStrip, Normalized: normalized, Special: special}
}

// finish resolves special token ids, registers the special tokens as added
// tokens (so that "[MASK]" in text is one token, as in HF) and builds the
// id-to-token table.
func (t *Tokenizer) finish(names specialNames, added []addedToken) error {
	if err := t.buildIDTable(added); err != nil {
		return err
	}
	byContent := map[string]bool{}
	for _, a := range added {
		byContent[a.Content] = true
	}
	ids := map[string]int32{}
	for _, a := range added {
		ids[a.Content] = a.ID
	}
	lookup := func(name string) int32 {
		if id, ok := ids[name]; ok {
			return id
		}
		if id, ok := t.vocab[name]; ok {
			return id
		}
		return -1
	}
	t.cls, t.sep, t.pad, t.mask, t.unk = lookup(names.cls), lookup(names.sep), lookup(names.pad), lookup(names.mask), lookup(names.unk)
	for name, id := range map[string]int32{names.cls: t.cls, names.sep: t.sep, names.pad: t.pad} {
		if id < 0 {
			return fmt.Errorf("special token %q is not in the vocabulary", name)
		}
	}
	// Special tokens not listed as added tokens are added as
	// transformers does: matched verbatim, with the flags the config gives.
	for _, name := range []string{names.cls, names.sep, names.pad, names.mask, names.unk} {
		id := lookup(name)
		if id < 0 || byContent[name] {
			continue
		}
		spec := names.flags[name]
		no := false
		spec.Normalized = &no
		a := spec.addedTokenJSON.token(id, true)
		a.Content = name
		added = append(added, a)
		byContent[name] = true
	}
	t.added.tokens = added
	t.added.build(func(s string) string {
		if t.normalizer == nil {
			return s
		}
		return string(t.normalizer.normalize(new(scratch), s))
	})
	t.names = names
	return nil
}

// maxVocabSize bounds token ids: sixteen times the largest vocabulary of
// a released model, and a table of 64 MiB.
const maxVocabSize = 1 << 22

// buildIDTable fills idToToken from the vocabulary and the added tokens.
// It refuses ids no embedding table could have, and files that give a
// token two ids or an id two tokens: which of them a model meant cannot
// be told.
func (t *Tokenizer) buildIDTable(added []addedToken) error {
	size := 0
	check := func(kind, tok string, id int32) error {
		switch {
		case tok == "":
			return fmt.Errorf("%s with id %d is empty", kind, id)
		case id < 0 || id >= maxVocabSize:
			return fmt.Errorf("%s %q has id %d, want 0 ≤ id < %d", kind, tok, id, maxVocabSize)
		}
		size = max(size, int(id)+1)
		return nil
	}
	for _, tok := range slices.Sorted(maps.Keys(t.vocab)) {
		if err := check("token", tok, t.vocab[tok]); err != nil {
			return err
		}
	}
	for _, a := range added {
		if err := check("added token", a.Content, a.ID); err != nil {
			return err
		}
	}
	if size == 0 {
		return errors.New("empty vocabulary")
	}
	t.idToToken = make([]string, size)
	for _, tok := range slices.Sorted(maps.Keys(t.vocab)) {
		id := t.vocab[tok]
		if other := t.idToToken[id]; other != "" {
			return fmt.Errorf("tokens %q and %q have the same id %d", other, tok, id)
		}
		t.idToToken[id] = tok
	}
	addedIDs := map[string]int32{}
	for _, a := range added {
		id, ok := t.vocab[a.Content]
		if !ok {
			id, ok = addedIDs[a.Content]
		}
		if ok && id != a.ID {
			return fmt.Errorf("added token %q has id %d, but %d elsewhere", a.Content, a.ID, id)
		}
		if other := t.idToToken[a.ID]; other != "" && other != a.Content {
			return fmt.Errorf("added token %q has id %d, which is %q's", a.Content, a.ID, other)
		}
		t.idToToken[a.ID] = a.Content
		addedIDs[a.Content] = a.ID
	}
	return nil
}
