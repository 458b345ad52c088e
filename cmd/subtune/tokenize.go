package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/subtune/subtune/internal/argcheck"
	"github.com/subtune/subtune/internal/utf8line"
	"github.com/subtune/subtune/tokenizer"
)

func newTokenizeCmd() *cobra.Command {
	var dir string
	var maxSeqLength int
	var src modelSource
	cmd := &cobra.Command{
		Use:   "tokenize",
		Short: "Tokenise lines from stdin into model inputs as JSON lines",
		Long: `Reads text from standard input, one example per line; a tab separates a
sentence pair. Writes one JSON line per input with input_ids, token_type_ids
and attention_mask, exactly as HuggingFace's tokenizer(text, text_pair,
truncation=True, max_length=--max_seq_length) returns them. A line that is
not valid UTF-8 is an error naming the line and byte column.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return fmt.Errorf("--model_name_or_path is required")
			}
			var e argcheck.Errors
			e.Int("--max_seq_length", maxSeqLength, argcheck.Positive)
			if err := e.Err(); err != nil {
				return err
			}
			dir, err := src.resolveTokenizer(cmd.Context(), dir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			tok, err := tokenizer.Load(dir)
			if err != nil {
				return err
			}
			n, warning := tokenizer.CapLength(maxSeqLength, tok.MaxLength())
			if warning != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", warning)
			}
			return tokenizeLines(tok, interruptible(cmd.Context(), cmd.InOrStdin()), cmd.OutOrStdout(), n)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "model_name_or_path", "", "model folder holding the tokenizer files (tokenizer.json, vocab.txt, or vocab.json and merges.txt), or hub model id")
	src.addFlags(f)
	f.IntVar(&maxSeqLength, "max_seq_length", tokenizer.DefaultMaxSeqLength, "longest sequence in tokens, special tokens included")
	return graceful(cmd)
}

// tokenizeLines encodes each line of r and writes its JSON line to w.
func tokenizeLines(tok *tokenizer.Tokenizer, r io.Reader, w io.Writer, maxLen int) error {
	in := bufio.NewReaderSize(r, 1<<16)
	out := bufio.NewWriterSize(w, 1<<16)
	var buf []byte
	for lineNo := 1; ; lineNo++ {
		if in.Buffered() == 0 {
			// The next read may wait for more input: pass on what is done,
			// so that a pipeline or a terminal sees each line's output.
			if err := out.Flush(); err != nil {
				return err
			}
		}
		line, err := in.ReadString('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("stdin: line %d: %w", lineNo, err)
		}
		if line == "" && err == io.EOF {
			break
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if err := utf8line.Check(line); err != nil {
			return fmt.Errorf("stdin: line %d: %w", lineNo, err)
		}
		text, pair, hasPair := strings.Cut(line, "\t")
		enc := tok.Encode(text, pair, hasPair, maxLen)
		buf = appendEncodingJSON(buf[:0], enc)
		if _, err := out.Write(buf); err != nil {
			return err
		}
		if err == io.EOF {
			break
		}
	}
	return out.Flush()
}

// appendEncodingJSON writes enc as one JSON object and a newline; ids are
// plain integers, so building the line by hand is simple and fast.
func appendEncodingJSON(b []byte, enc tokenizer.Encoding) []byte {
	field := func(b []byte, name string, ids []int32) []byte {
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":[`...)
		for i, id := range ids {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(id), 10)
		}
		return append(b, ']')
	}
	b = append(b, '{')
	b = field(b, "input_ids", enc.InputIDs)
	b = append(b, ',')
	b = field(b, "token_type_ids", enc.TokenTypeIDs)
	b = append(b, ',')
	b = field(b, "attention_mask", enc.AttentionMask)
	return append(b, "}\n"...)
}
