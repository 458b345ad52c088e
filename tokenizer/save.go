package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// source keeps what Save needs that the tokenising structures do not.
type source struct {
	tokenizerJSON []byte          // the file as read, when loaded from tokenizer.json
	merges        [][2]string     // BPE merges in rank order
	stripAccents  *bool           // as configured: nil means "follow lowercase"
	config        tokenizerConfig // tokenizer_config.json as read
}

// Save writes the tokenizer's files into dir, creating it if needed, so
// that Load(dir) gives an identical tokenizer: vocab.txt or vocab.json and
// merges.txt, tokenizer_config.json (with the keys it does not interpret as
// they were), special_tokens_map.json, and tokenizer.json unchanged when the
// tokenizer came from one. It leaves other files in dir alone.
func (t *Tokenizer) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	write := func(name string, data []byte) error {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("tokenizer: save: %w", err)
		}
		return nil
	}
	if t.src.tokenizerJSON != nil {
		if err := write("tokenizer.json", t.src.tokenizerJSON); err != nil {
			return err
		}
	}
	var err error
	switch t.kind {
	case KindWordPiece:
		err = t.saveVocabTxt(write)
	case KindBPE:
		err = t.saveBPE(write)
	}
	if err != nil {
		return err
	}
	c := t.config()
	cfg, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	if err := write("tokenizer_config.json", append(cfg, '\n')); err != nil {
		return err
	}
	special, err := json.MarshalIndent(c.specialTokensMap(), "", "  ")
	if err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	return write("special_tokens_map.json", append(special, '\n'))
}

func (t *Tokenizer) saveVocabTxt(write func(string, []byte) error) error {
	var buf bytes.Buffer
	for id, tok := range t.idToToken {
		if _, ok := t.vocab[tok]; !ok && !t.isAdded(int32(id)) {
			return fmt.Errorf("tokenizer: save: id %d has no token, which vocab.txt cannot express", id)
		}
		buf.WriteString(tok)
		buf.WriteByte('\n')
	}
	return write("vocab.txt", buf.Bytes())
}

func (t *Tokenizer) saveBPE(write func(string, []byte) error) error {
	vocab, err := json.Marshal(t.vocab)
	if err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	if err := write("vocab.json", vocab); err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString("#version: 0.2\n")
	for _, m := range t.src.merges {
		buf.WriteString(m[0])
		buf.WriteByte(' ')
		buf.WriteString(m[1])
		buf.WriteByte('\n')
	}
	return write("merges.txt", buf.Bytes())
}

func (t *Tokenizer) isAdded(id int32) bool {
	for _, a := range t.added.tokens {
		if a.ID == id {
			return true
		}
	}
	return false
}

// config returns tokenizer_config.json describing the tokenizer as it is,
// starting from the config it was loaded with so unknown settings survive.
func (t *Tokenizer) config() tokenizerConfig {
	c := t.src.config
	yes, no := true, false
	boolPtr := func(b bool) *bool {
		if b {
			return &yes
		}
		return &no
	}
	plain := func(s string) *tokenSpec {
		return &tokenSpec{addedTokenJSON: addedTokenJSON{Content: s}, plain: true}
	}
	switch t.kind {
	case KindWordPiece:
		c.TokenizerClass = "BertTokenizer"
		if n := t.normalizer; n != nil {
			c.DoLowerCase = boolPtr(n.lowercase)
			c.TokenizeChineseChars = boolPtr(n.chineseChars)
			c.StripAccents = t.src.stripAccents
		}
		c.BosToken, c.EosToken = nil, nil
	case KindBPE:
		c.TokenizerClass = "RobertaTokenizer"
		c.AddPrefixSpace = boolPtr(t.prefixSpace)
		c.BosToken, c.EosToken = plain(t.names.cls), plain(t.names.sep)
	}
	c.ClsToken, c.SepToken, c.PadToken = plain(t.names.cls), plain(t.names.sep), plain(t.names.pad)
	c.MaskToken, c.UnkToken = plain(t.names.mask), plain(t.names.unk)
	if t.maxLength > 0 {
		m := float64(t.maxLength)
		c.ModelMaxLength = &m
	}
	// The added tokens with their flags, as transformers 4.34+ writes them.
	c.AddedTokensDecoder = map[string]addedTokenJSON{}
	added := append([]addedToken(nil), t.added.tokens...)
	sort.Slice(added, func(i, j int) bool { return added[i].ID < added[j].ID })
	for _, a := range added {
		normalized, special := a.Normalized, a.Special
		c.AddedTokensDecoder[strconv.Itoa(int(a.ID))] = addedTokenJSON{
			Content: a.Content, SingleWord: a.SingleWord, LStrip: a.LStrip, RStrip: a.RStrip,
			Normalized: &normalized, Special: &special,
		}
	}
	return c
}
