package tokenizer

import (
	"fmt"
	"math"
	"sync"
	"unicode/utf8"
)

// Kinds of tokenizer.
const (
	KindWordPiece = "wordpiece"
	KindBPE       = "bpe"
)

// DefaultMaxSeqLength is the sequence length Encode truncates to when it is
// given none, as run_glue's --max_seq_length defaults to.
const DefaultMaxSeqLength = 128

// CapLength caps a requested sequence length at each positive limit (the
// model's positions, a tokenizer's model_max_length) and, when it caps,
// returns run_glue's warning naming the length used.
func CapLength(requested int, limits ...int) (int, string) {
	n := requested
	for _, l := range limits {
		if l > 0 && l < n {
			n = l
		}
	}
	if n == requested {
		return n, ""
	}
	return n, fmt.Sprintf("the max_seq_length passed (%d) is larger than the maximum length for the model (%d). Using max_seq_length=%d.", requested, n, n)
}

// Tokenizer turns text into model ids exactly as HuggingFace's tokenizers
// do for BERT (WordPiece) and RoBERTa (byte-level BPE). It is safe for
// concurrent use.
type Tokenizer struct {
	kind      string
	vocab     map[string]int32
	idToToken []string // "" where no token has the id

	normalizer  *bertNormalizer // nil: text goes to the pre-tokenizer as it is
	wordPiece   *wordPiece      // set for KindWordPiece
	bpe         *bytePairs      // set for KindBPE
	prefixSpace bool            // ByteLevel add_prefix_space
	added       addedVocab

	names                    specialNames
	cls, sep, pad, mask, unk int32 // -1 when the vocabulary lacks one
	robertaPairs             bool  // pairs as <s> A </s></s> B </s>, all type 0
	maxLength                int   // model limit on sequence length; 0 if unknown

	scratch sync.Pool // *scratch
	src     source    // what Save writes back
}

// scratch holds the buffers of one tokenisation so that steady-state
// tokenising allocates only its result.
type scratch struct {
	norm, tmp, nfd, key []byte
	syms, a, b          []int32
	heap                []candidate
	stop                int // stop tokenising once the result is this long
}

// Kind returns KindWordPiece or KindBPE.
func (t *Tokenizer) Kind() string { return t.kind }

// VocabSize returns one more than the largest token id, the number of rows
// an embedding table needs. For roberta-base's vocab.json it is 50265
// although three ids below <mask> are unused.
func (t *Tokenizer) VocabSize() int { return len(t.idToToken) }

// PadID returns the padding token's id ([PAD], or <pad> = 1 for RoBERTa).
func (t *Tokenizer) PadID() int32 { return t.pad }

// ClsID returns the id that starts every sequence ([CLS] or <s>).
func (t *Tokenizer) ClsID() int32 { return t.cls }

// SepID returns the id that ends each segment ([SEP] or </s>).
func (t *Tokenizer) SepID() int32 { return t.sep }

// MaskID returns the id masked-language-model pre-training substitutes
// ([MASK] or <mask>).
func (t *Tokenizer) MaskID() int32 { return t.mask }

// UnkID returns the unknown token's id ([UNK] or <unk>).
func (t *Tokenizer) UnkID() int32 { return t.unk }

// MaxLength returns the longest sequence, special tokens included, that the
// model accepts (tokenizer_config.json's model_max_length or config.json's
// max_position_embeddings), or 0 when the folder does not say.
func (t *Tokenizer) MaxLength() int { return t.maxLength }

// Token returns the vocabulary entry of id, or "" if there is none.
func (t *Tokenizer) Token(id int32) string {
	if id < 0 || int(id) >= len(t.idToToken) {
		return ""
	}
	return t.idToToken[id]
}

// ID returns the id of a vocabulary entry.
func (t *Tokenizer) ID(token string) (int32, bool) {
	if id, ok := t.vocab[token]; ok {
		return id, true
	}
	for _, a := range t.added.tokens {
		if a.Content == token {
			return a.ID, true
		}
	}
	return -1, false
}

// Tokenize returns the tokens of text without special tokens. Added tokens
// found in the text (such as [MASK]) appear as their vocabulary entry.
func (t *Tokenizer) Tokenize(text string) []string {
	ids := t.IDs(text)
	toks := make([]string, len(ids))
	for i, id := range ids {
		toks[i] = t.Token(id)
	}
	return toks
}

// IDs returns the ids of text without special tokens and without truncation.
func (t *Tokenizer) IDs(text string) []int32 {
	return t.AppendIDs(nil, text)
}

// AppendIDs appends the ids of text (as IDs returns them) to dst, so that a
// caller tokenising many texts can reuse one buffer.
func (t *Tokenizer) AppendIDs(dst []int32, text string) []int32 {
	return t.appendIDs(dst, text, math.MaxInt)
}

// appendIDs appends the ids of text, stopping after the first word that
// brings len(dst) to stop or beyond. HF tokenizers 0.23 stops early the same
// way when truncation is on, which is visible in how LongestFirst splits a
// pair (see Encode).
func (t *Tokenizer) appendIDs(dst []int32, text string, stop int) []int32 {
	sc := t.getScratch()
	defer t.scratch.Put(sc)
	return t.appendIDsWith(sc, dst, text, stop)
}

func (t *Tokenizer) getScratch() *scratch {
	if sc, ok := t.scratch.Get().(*scratch); ok {
		return sc
	}
	return new(scratch)
}

func (t *Tokenizer) appendIDsWith(sc *scratch, dst []int32, text string, stop int) []int32 {
	if !utf8.ValidString(text) {
		text = validUTF8(text)
	}
	sc.stop = stop

	// HF first cuts out added tokens that match the raw text, then runs
	// the pipeline on what lies between them.
	for pos := 0; len(dst) < stop; {
		start, end, id, ok := t.added.raw.next(text, pos)
		if !ok {
			return t.appendSegment(dst, text[pos:], sc)
		}
		dst = t.appendSegment(dst, text[pos:start], sc)
		if len(dst) >= stop {
			break
		}
		dst = append(dst, id)
		pos = end
	}
	return dst
}

// appendSegment tokenises text that holds no raw-matched added token.
func (t *Tokenizer) appendSegment(dst []int32, seg string, sc *scratch) []int32 {
	if seg == "" {
		return dst
	}
	if t.normalizer != nil {
		seg = string(t.normalizer.normalize(sc, seg)) // one copy per segment, not per token
	}
	for pos := 0; len(dst) < sc.stop; {
		start, end, id, ok := t.added.norm.next(seg, pos)
		if !ok {
			return t.appendWords(dst, seg[pos:], sc)
		}
		dst = t.appendWords(dst, seg[pos:start], sc)
		if len(dst) >= sc.stop {
			break
		}
		dst = append(dst, id)
		pos = end
	}
	return dst
}

// appendWords pre-tokenises normalised text and runs the model on each word.
func (t *Tokenizer) appendWords(dst []int32, text string, sc *scratch) []int32 {
	if text == "" {
		return dst
	}
	if t.wordPiece != nil {
		return t.wordPiece.appendBertWords(dst, text, sc)
	}
	if t.prefixSpace && text[0] != ' ' {
		text = " " + text
	}
	for i := 0; i < len(text) && len(dst) < sc.stop; {
		end := gpt2Piece(text, i)
		dst = t.bpe.appendIDs(dst, text[i:end], sc)
		i = end
	}
	return dst
}

// validUTF8 replaces each byte of an invalid UTF-8 sequence with U+FFFD, the
// way ranging over a Go string decodes it.
func validUTF8(s string) string {
	buf := make([]byte, 0, len(s)+8)
	for _, r := range s {
		buf = utf8.AppendRune(buf, r)
	}
	return string(buf)
}
