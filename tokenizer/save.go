package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"github.com/subtune/subtune/atomicfile"
)

// source keeps what Save needs that the tokenising structures do not.
type source struct {
	tokenizerJSON []byte          // the file as read, when loaded from tokenizer.json
	vocabLines    []string        // vocab.txt as read, repeated tokens included
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
	files, err := t.files()
	if err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		err := atomicfile.WriteFile(filepath.Join(dir, name), func(w io.Writer) error {
			_, err := w.Write(files[name])
			return err
		})
		if err != nil {
			return fmt.Errorf("tokenizer: save: %w", err)
		}
	}
	return nil
}

// files returns what Save writes, by file name.
func (t *Tokenizer) files() (map[string][]byte, error) {
	files := map[string][]byte{}
	if t.src.tokenizerJSON != nil {
		files["tokenizer.json"] = t.src.tokenizerJSON
	}
	var err error
	switch t.kind {
	case KindWordPiece:
		if vocab := t.vocabTxt(); vocab != nil {
			files["vocab.txt"] = vocab
		}
	case KindBPE:
		files["vocab.json"], files["merges.txt"], err = t.bpeFiles()
	}
	if err != nil {
		return nil, err
	}
	c := t.config()
	cfg, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	files["tokenizer_config.json"] = append(cfg, '\n')
	special, err := json.MarshalIndent(c.specialTokensMap(), "", "  ")
	if err != nil {
		return nil, err
	}
	files["special_tokens_map.json"] = append(special, '\n')
	return files, nil
}

// vocabTxt returns the WordPiece vocabulary, without the added tokens
// (tokenizer_config.json lists those), one token a line in id order. It
// returns nil when the ids have gaps, which only tokenizer.json can hold.
func (t *Tokenizer) vocabTxt() []byte {
	lines := t.src.vocabLines
	if lines == nil {
		lines = make([]string, len(t.vocab))
		for tok, id := range t.vocab {
			if int(id) >= len(lines) {
				return nil
			}
			lines[id] = tok
		}
	}
	var buf bytes.Buffer
	for _, tok := range lines {
		buf.WriteString(tok)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func (t *Tokenizer) bpeFiles() (vocab, merges []byte, err error) {
	if vocab, err = json.Marshal(t.vocab); err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	buf.WriteString("#version: 0.2\n")
	for _, m := range t.src.merges {
		buf.WriteString(m[0])
		buf.WriteByte(' ')
		buf.WriteString(m[1])
		buf.WriteByte('\n')
	}
	return vocab, buf.Bytes(), nil
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
