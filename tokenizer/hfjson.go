package tokenizer

import (
	"encoding/json"
	"fmt"
)

// hfFile is the part of HF tokenizers' tokenizer.json that this package
// understands: BERT's and RoBERTa's pipelines. Its truncation and padding
// presets are ignored, as transformers' tokenizer classes override them on
// every call; Encode's maxLen and PadBatch take their place.
type hfFile struct {
	AddedTokens   []addedTokenJSON `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	PostProcessor json.RawMessage  `json:"post_processor"`
	Padding       *struct {
		PadToken string `json:"pad_token"`
	} `json:"padding"`
	Model struct {
		Type                    string           `json:"type"`
		UnkToken                *string          `json:"unk_token"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    *int             `json:"max_input_chars_per_word"`
		EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
		Dropout                 *float64         `json:"dropout"`
		ByteFallback            bool             `json:"byte_fallback"`
		Vocab                   map[string]int32 `json:"vocab"`
		Merges                  json.RawMessage  `json:"merges"`
	} `json:"model"`
}

type typed struct {
	Type string `json:"type"`
}

// hfNormalizer is a BertNormalizer; StripAccents nil means "as lowercase".
type hfNormalizer struct {
	Type               string `json:"type"`
	CleanText          bool   `json:"clean_text"`
	HandleChineseChars bool   `json:"handle_chinese_chars"`
	StripAccents       *bool  `json:"strip_accents"`
	Lowercase          bool   `json:"lowercase"`
}

type hfPreTokenizer struct {
	Type           string `json:"type"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	UseRegex       *bool  `json:"use_regex"`
}

type hfPostProcessor struct {
	Type string `json:"type"`
	// BertProcessing and RobertaProcessing: [token, id].
	Sep [2]json.RawMessage `json:"sep"`
	Cls [2]json.RawMessage `json:"cls"`
	// TemplateProcessing.
	Single []templatePiece `json:"single"`
	Pair   []templatePiece `json:"pair"`
}

type templatePiece struct {
	SpecialToken *struct {
		ID     string `json:"id"`
		TypeID int    `json:"type_id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID     string `json:"id"`
		TypeID int    `json:"type_id"`
	} `json:"Sequence"`
}

// loadTokenizerJSON builds a Tokenizer from a tokenizer.json file.
func loadTokenizerJSON(src folder, tc *tokenizerConfig) (*Tokenizer, error) {
	path := src.path("tokenizer.json")
	data, err := src.read("tokenizer.json")
	if err != nil {
		return nil, err
	}
	var f hfFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, jsonError(path, data, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...))
	}
	if len(f.Model.Vocab) == 0 {
		return nil, bad("model has no vocab")
	}

	t := &Tokenizer{vocab: f.Model.Vocab}
	t.src.tokenizerJSON = data

	var pre hfPreTokenizer
	if err := decodeOptional(f.PreTokenizer, &pre); err != nil {
		return nil, bad("pre_tokenizer: %v", err)
	}
	var names specialNames
	modelType := f.Model.Type
	if modelType == "" && len(f.Model.Merges) > 0 {
		modelType = "BPE"
	} else if modelType == "" && f.Model.MaxInputCharsPerWord != nil {
		modelType = "WordPiece"
	}
	switch modelType {
	case "WordPiece":
		names, err = t.jsonWordPiece(&f, pre, tc, bad)
	case "BPE":
		names, err = t.jsonBPE(&f, pre, tc, path, bad)
	default:
		err = bad("unsupported model type %q (want WordPiece or BPE)", f.Model.Type)
	}
	if err != nil {
		return nil, err
	}
	if f.Padding != nil && f.Padding.PadToken != "" {
		names.pad = f.Padding.PadToken
	}
	if err := t.setPostProcessor(f.PostProcessor, &names); err != nil {
		return nil, bad("post_processor: %v", err)
	}
	added, err := jsonAddedTokens(&f, tc, bad)
	if err != nil {
		return nil, err
	}
	if err := t.finish(names, added); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// jsonWordPiece sets t up as the WordPiece model of f, with its BERT
// normaliser, and returns its special tokens' names; bad makes an error
// naming the file.
func (t *Tokenizer) jsonWordPiece(f *hfFile, pre hfPreTokenizer, tc *tokenizerConfig, bad func(string, ...any) error) (specialNames, error) {
	t.kind = KindWordPiece
	names := wordPieceNames(tc)
	if pre.Type != "BertPreTokenizer" {
		return names, bad("unsupported pre_tokenizer %q for WordPiece (want BertPreTokenizer)", pre.Type)
	}
	var n hfNormalizer
	if err := decodeOptional(f.Normalizer, &n); err != nil {
		return names, bad("normalizer: %v", err)
	}
	switch n.Type {
	case "":
	case "BertNormalizer":
		t.normalizer = &bertNormalizer{
			cleanText:    n.CleanText,
			chineseChars: n.HandleChineseChars,
			stripAccents: n.StripAccents != nil && *n.StripAccents || n.StripAccents == nil && n.Lowercase,
			lowercase:    n.Lowercase,
		}
		t.src.stripAccents = n.StripAccents
	default:
		return names, bad("unsupported normalizer %q (want BertNormalizer)", n.Type)
	}
	if f.Model.UnkToken != nil {
		names.unk = *f.Model.UnkToken
	}
	prefix, maxChars := "##", 100
	if f.Model.ContinuingSubwordPrefix != nil {
		prefix = *f.Model.ContinuingSubwordPrefix
	}
	if f.Model.MaxInputCharsPerWord != nil {
		maxChars = *f.Model.MaxInputCharsPerWord
	}
	if maxChars < 0 {
		return names, bad("model.max_input_chars_per_word %d: want 0 or more", maxChars)
	}
	unk, ok := t.vocab[names.unk]
	if !ok {
		return names, bad("unk_token %q is not in the vocab", names.unk)
	}
	t.wordPiece = &wordPiece{vocab: t.vocab, prefix: prefix, maxChars: maxChars, unk: unk}
	return names, nil
}

// jsonBPE sets t up as the byte-level BPE model of f, read from path, and
// returns its special tokens' names; bad makes an error naming the file.
func (t *Tokenizer) jsonBPE(f *hfFile, pre hfPreTokenizer, tc *tokenizerConfig, path string, bad func(string, ...any) error) (specialNames, error) {
	t.kind = KindBPE
	names := bpeNames(tc)
	if string(f.Normalizer) != "" && string(f.Normalizer) != "null" {
		return names, bad("unsupported normalizer for byte-level BPE (want null)")
	}
	if pre.Type != "ByteLevel" || pre.UseRegex != nil && !*pre.UseRegex {
		return names, bad("unsupported pre_tokenizer %q for BPE (want ByteLevel with use_regex)", pre.Type)
	}
	if f.Model.Dropout != nil && *f.Model.Dropout > 0 || f.Model.ByteFallback ||
		f.Model.ContinuingSubwordPrefix != nil && *f.Model.ContinuingSubwordPrefix != "" ||
		f.Model.EndOfWordSuffix != nil && *f.Model.EndOfWordSuffix != "" {
		return names, bad("unsupported BPE options (dropout, byte_fallback, continuing_subword_prefix or end_of_word_suffix)")
	}
	t.prefixSpace = pre.AddPrefixSpace
	merges, err := decodeMerges(f.Model.Merges)
	if err != nil {
		return names, bad("model.merges: %v", err)
	}
	if err := t.setBPE(merges, func(i int) string { return fmt.Sprintf("%s: model.merges[%d]", path, i) }); err != nil {
		return names, err
	}
	if f.Model.UnkToken != nil {
		names.unk = *f.Model.UnkToken
	}
	return names, nil
}

// jsonAddedTokens lists the added tokens of f, then, as transformers does,
// those of tokenizer_config.json's added_tokens_decoder that f lacks (Save
// writes the flags of special tokens there).
func jsonAddedTokens(f *hfFile, tc *tokenizerConfig, bad func(string, ...any) error) ([]addedToken, error) {
	added := make([]addedToken, 0, len(f.AddedTokens))
	for i, a := range f.AddedTokens {
		if a.ID == nil {
			return nil, bad("added_tokens[%d] has no id", i)
		}
		added = append(added, a.token(*a.ID, false))
	}
	have := map[string]bool{}
	for _, a := range added {
		have[a.Content] = true
	}
	for _, a := range configAdded(tc) {
		if !have[a.Content] {
			added = append(added, a)
		}
	}
	return added, nil
}

func decodeOptional(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// decodeMerges accepts both forms tokenizers writes: "a b" strings (before
// 0.20) and ["a", "b"] pairs.
func decodeMerges(raw json.RawMessage) ([][2]string, error) {
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err == nil {
		return pairs, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return nil, err
	}
	pairs = make([][2]string, len(lines))
	for i, l := range lines {
		var a, b string
		var ok bool
		for j := 0; j < len(l); j++ {
			if l[j] == ' ' {
				a, b, ok = l[:j], l[j+1:], true
				break
			}
		}
		if !ok || a == "" || b == "" {
			return nil, fmt.Errorf("entry %d: want two symbols separated by a space, got %q", i, l)
		}
		pairs[i] = [2]string{a, b}
	}
	return pairs, nil
}

// setPostProcessor reads where the special tokens go.
func (t *Tokenizer) setPostProcessor(raw json.RawMessage, names *specialNames) error {
	var p hfPostProcessor
	if err := decodeOptional(raw, &p); err != nil {
		return err
	}
	str := func(r json.RawMessage) (string, error) {
		var s string
		err := json.Unmarshal(r, &s)
		return s, err
	}
	switch p.Type {
	case "":
		return nil // keep the kind's layout
	case "BertProcessing", "RobertaProcessing":
		var err1, err2 error
		names.cls, err1 = str(p.Cls[0])
		names.sep, err2 = str(p.Sep[0])
		if err1 != nil || err2 != nil {
			return fmt.Errorf("%s: cls and sep must be [token, id]", p.Type)
		}
		t.robertaPairs = p.Type == "RobertaProcessing"
		return nil
	case "TemplateProcessing":
		return t.setTemplate(&p, names)
	}
	return fmt.Errorf("unsupported type %q", p.Type)
}

// setTemplate accepts the two templates BERT and RoBERTa use:
//
//	[CLS] $A [SEP] and [CLS] $A [SEP] $B:1 [SEP]:1
//	<s> $A </s>    and <s> $A </s> </s> $B </s>
func (t *Tokenizer) setTemplate(p *hfPostProcessor, names *specialNames) error {
	sig := func(ps []templatePiece) string {
		s := ""
		for _, x := range ps {
			switch {
			case x.SpecialToken != nil:
				s += fmt.Sprintf("[%s:%d]", x.SpecialToken.ID, x.SpecialToken.TypeID)
			case x.Sequence != nil:
				s += fmt.Sprintf("$%s:%d", x.Sequence.ID, x.Sequence.TypeID)
			}
		}
		return s
	}
	if len(p.Single) != 3 || p.Single[0].SpecialToken == nil || p.Single[2].SpecialToken == nil {
		return fmt.Errorf("unsupported template %s", sig(p.Single))
	}
	cls, sep := p.Single[0].SpecialToken.ID, p.Single[2].SpecialToken.ID
	single := fmt.Sprintf("[%s:0]$A:0[%s:0]", cls, sep)
	bert := single + fmt.Sprintf("$B:1[%s:1]", sep)
	roberta := single + fmt.Sprintf("[%s:0]$B:0[%s:0]", sep, sep)
	switch got := sig(p.Pair); {
	case sig(p.Single) != single:
		return fmt.Errorf("unsupported template %s", sig(p.Single))
	case got == bert:
		t.robertaPairs = false
	case got == roberta:
		t.robertaPairs = true
	default:
		return fmt.Errorf("unsupported pair template %s", got)
	}
	names.cls, names.sep = cls, sep
	return nil
}
