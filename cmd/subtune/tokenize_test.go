package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/tokenizer"
)

// goldenEncoding is one line of tokenizer/testdata/golden/*.jsonl, written
// by HuggingFace tokenizers.
type goldenEncoding struct {
	Input         string  `json:"input"`
	Pair          *string `json:"pair"`
	MaxLength     int     `json:"max_length"`
	IDs           []int32 `json:"ids"`
	TokenTypeIDs  []int32 `json:"token_type_ids"`
	AttentionMask []int32 `json:"attention_mask"`
}

// TestTokenizeLines feeds the HuggingFace golden inputs through the
// command, one line each (a tab before the pair), and checks every output
// line against the ids HuggingFace produced.
func TestTokenizeLines(t *testing.T) {
	for _, name := range []string{"bert-base-uncased", "bert-base-cased", "roberta-base"} {
		t.Run(name, func(t *testing.T) {
			tok, err := tokenizer.Load(filepath.Join("../../tokenizer/testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			byLen := map[int][]goldenEncoding{}
			for _, g := range readGoldenEncodings(t, filepath.Join("../../tokenizer/testdata/golden", name+".jsonl")) {
				text := g.Input
				if g.Pair != nil {
					text += *g.Pair
				}
				if strings.ContainsAny(text, "\t\r\n") {
					continue // not expressible as one input line
				}
				byLen[g.MaxLength] = append(byLen[g.MaxLength], g)
			}
			n := 0
			for maxLen, gs := range byLen {
				var in, out bytes.Buffer
				for _, g := range gs {
					in.WriteString(g.Input)
					if g.Pair != nil {
						in.WriteString("\t" + *g.Pair)
					}
					in.WriteString("\n")
				}
				if err := tokenizeLines(tok, &in, &out, maxLen); err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
				if len(lines) != len(gs) {
					t.Fatalf("max_length %d: %d output lines for %d inputs", maxLen, len(lines), len(gs))
				}
				for i, g := range gs {
					var got struct {
						InputIDs      []int32 `json:"input_ids"`
						TokenTypeIDs  []int32 `json:"token_type_ids"`
						AttentionMask []int32 `json:"attention_mask"`
					}
					if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
						t.Fatalf("output line %q: %v", lines[i], err)
					}
					if !slices.Equal(got.InputIDs, g.IDs) || !slices.Equal(got.TokenTypeIDs, g.TokenTypeIDs) || !slices.Equal(got.AttentionMask, g.AttentionMask) {
						t.Errorf("%q (max_length %d): got %s, want ids %v, token types %v, mask %v",
							g.Input, maxLen, lines[i], g.IDs, g.TokenTypeIDs, g.AttentionMask)
					}
					n++
				}
			}
			if n < 800 {
				t.Fatalf("only %d golden encodings checked", n)
			}
		})
	}
}

func readGoldenEncodings(t *testing.T, path string) []goldenEncoding {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []goldenEncoding
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var g goldenEncoding
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTokenizeCapsMaxSeqLength: a --max_seq_length beyond the tokenizer's
// model_max_length is capped with a warning that names the cap.
func TestTokenizeCapsMaxSeqLength(t *testing.T) {
	out, err := runRootIO(t, "hello\n", "tokenize", "--model_name_or_path", "../../models/subtune-bert-mini", "--max_seq_length", "9999")
	if err != nil {
		t.Fatal(err)
	}
	want := "warning: the max_seq_length passed (9999) is larger than the maximum length for the model (512). Using max_seq_length=512."
	if !strings.Contains(out, want) || !strings.Contains(out, `"input_ids":[101,7592,102]`) {
		t.Errorf("output does not hold %q and the ids:\n%s", want, out)
	}
}

// TestTokenizeRefusesInvalidUTF8: bad bytes are an error naming the line
// and the byte column, as in the GLUE readers, never replaced.
func TestTokenizeRefusesInvalidUTF8(t *testing.T) {
	_, err := runRootIO(t, "fine\nna\xefve\tpair\n", "tokenize", "--model_name_or_path", "../../models/subtune-bert-mini")
	want := "stdin: line 2: invalid UTF-8: byte 0xef at column 3"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
