package tokenizer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	var tc tokenizerConfig
	if _, err := readJSONFile(dir, "tokenizer_config.json", &tc); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var mc modelConfig
	if _, err := readJSONFile(dir, "config.json", &mc); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	has := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	var t *Tokenizer
	switch {
	case has("tokenizer.json"):
		t, err = loadTokenizerJSON(filepath.Join(dir, "tokenizer.json"), &tc)
	case has("vocab.txt"):
		t, err = loadWordPiece(dir, &tc)
	case has("vocab.json") && has("merges.txt"):
		t, err = loadBPE(dir, &tc)
	case has("vocab.json"):
		err = fmt.Errorf("%s has vocab.json but no merges.txt", dir)
	default:
		err = fmt.Errorf("%s: %w (want tokenizer.json, vocab.txt, or vocab.json with merges.txt)", dir, fs.ErrNotExist)
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
func loadWordPiece(dir string, tc *tokenizerConfig) (*Tokenizer, error) {
	path := filepath.Join(dir, "vocab.txt")
	vocab, lines, err := readVocabTxt(path)
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
	return t, nil
}

// loadBPE builds a RoBERTa tokenizer from vocab.json and merges.txt as
// transformers' RobertaTokenizer(Fast) does: no normaliser, no prefix space
// unless add_prefix_space, <mask> swallowing the spaces on its left.
func loadBPE(dir string, tc *tokenizerConfig) (*Tokenizer, error) {
	vocab, err := readVocabJSON(filepath.Join(dir, "vocab.json"))
	if err != nil {
		return nil, err
	}
	mergesPath := filepath.Join(dir, "merges.txt")
	merges, lines, err := readMerges(mergesPath)
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
		return nil, fmt.Errorf("%s: %w", dir, err)
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

// configAdded returns tokenizer_config.json's added_tokens_decoder.
func configAdded(tc *tokenizerConfig) []addedToken {
	var added []addedToken
	for key, a := range tc.AddedTokensDecoder {
		id, err := strconv.ParseInt(key, 10, 32)
		if err != nil || id < 0 {
			continue
		}
		added = append(added, a.token(int32(id), true))
	}
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

	size := 0
	for _, id := range t.vocab {
		size = max(size, int(id)+1)
	}
	for _, a := range added {
		size = max(size, int(a.ID)+1)
	}
	t.idToToken = make([]string, size)
	for tok, id := range t.vocab {
		t.idToToken[id] = tok
	}
	for _, a := range added {
		t.idToToken[a.ID] = a.Content
	}
	if len(t.idToToken) == 0 {
		return errors.New("empty vocabulary")
	}
	return nil
}
