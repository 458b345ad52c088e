// Package tokenizer turns text into the ids a BERT or RoBERTa encoder
// expects, matching HuggingFace's tokenizers to the token.
//
// Two models are supported, loaded from a model folder by Load:
//
//   - BERT WordPiece (vocab.txt, optionally with tokenizer_config.json, or a
//     tokenizer.json with BertNormalizer, BertPreTokenizer and WordPiece):
//     text cleaning, CJK characters split off, accents stripped and text
//     lower-cased per do_lower_case, punctuation split, greedy longest-match
//     WordPiece with "##" continuations.
//   - RoBERTa byte-level BPE (vocab.json with merges.txt, or a
//     tokenizer.json with ByteLevel and BPE): GPT-2's pre-tokenisation
//     pattern, the byte-to-unicode alphabet, merge ranks, a word cache.
//
// Encode adds the special tokens ([CLS] A [SEP] B [SEP], or
// <s> A </s></s> B </s>) and truncates pairs as HF's longest_first does;
// PadBatch pads a batch to its longest sequence.
//
// # Matching HuggingFace
//
// Agreement is checked against golden files written by HF's own Rust
// implementation (testdata/gen). Character classes come from
// unicode_tables.go, generated from that same implementation, because HF's
// dependencies carry other Unicode versions than Go's unicode package: the
// BERT normaliser's control, punctuation and accent classes are those of an
// old Unicode release, while lower-casing and GPT-2's \p{L} and \p{N} follow
// Unicode 16.
//
// Invalid UTF-8 reads as U+FFFD, one per bad byte (HF only ever sees valid
// text): BERT drops it, RoBERTa encodes its bytes.
package tokenizer
