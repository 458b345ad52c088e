package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/subtune/subtune/internal/utf8line"
)

// readVocabTxt reads a WordPiece vocab.txt: one token per line, the line
// number (from 0) being the id. Like HF it trims trailing whitespace, and a
// repeated token keeps its last id. It also returns the tokens in id order.
func readVocabTxt(f folder, name string) (map[string]int32, []string, error) {
	path := f.path(name)
	data, err := f.read(name)
	if err != nil {
		return nil, nil, err
	}
	vocab := make(map[string]int32, 32768)
	var tokens []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if err := utf8line.CheckBytes(b); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		tok := strings.TrimRightFunc(string(b), isWhiteSpace)
		if tok == "" {
			return nil, nil, fmt.Errorf("%s:%d: empty token", path, line)
		}
		vocab[tok] = int32(line - 1)
		tokens = append(tokens, tok)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s:%d: %w", path, line+1, err)
	}
	if len(vocab) == 0 {
		return nil, nil, fmt.Errorf("%s: no tokens", path)
	}
	return vocab, tokens, nil
}

// readVocabJSON reads a BPE vocab.json: an object from token to id.
func readVocabJSON(f folder, name string) (map[string]int32, error) {
	path := f.path(name)
	data, err := f.read(name)
	if err != nil {
		return nil, err
	}
	var vocab map[string]int32
	if err := json.Unmarshal(data, &vocab); err != nil {
		return nil, jsonError(path, data, err)
	}
	if len(vocab) == 0 {
		return nil, fmt.Errorf("%s: no tokens", path)
	}
	return vocab, nil
}

// readMerges reads merges.txt: an optional "#version" line, then one merge
// per line, two symbols separated by a space, in rank order.
func readMerges(f folder, name string) ([][2]string, []int, error) {
	path := f.path(name)
	data, err := f.read(name)
	if err != nil {
		return nil, nil, err
	}
	var merges [][2]string
	var lines []int // line number of each merge, for errors found later
	all := strings.Split(string(data), "\n")
	if all[len(all)-1] == "" {
		all = all[:len(all)-1] // the final newline ends the last line
	}
	for i, l := range all {
		l = strings.TrimSuffix(l, "\r")
		if i == 0 && strings.HasPrefix(l, "#version") {
			continue
		}
		if err := utf8line.Check(l); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		a, b, ok := strings.Cut(l, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, nil, fmt.Errorf("%s:%d: want two symbols separated by one space, got %q", path, i+1, l)
		}
		merges = append(merges, [2]string{a, b})
		lines = append(lines, i+1)
	}
	return merges, lines, nil
}

// jsonError turns a decoding error into one naming the file and, for
// syntax and type errors, the line.
func jsonError(path string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%s:%d: %w", path, lineOf(data, syn.Offset), err)
	case errors.As(err, &typ):
		return fmt.Errorf("%s:%d: %w", path, lineOf(data, typ.Offset), err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// lineOf returns the line of the byte before offset: encoding/json's
// offsets count the bytes read, the offending one included.
func lineOf(data []byte, offset int64) int {
	offset = min(max(offset-1, 0), int64(len(data)))
	return bytes.Count(data[:offset], []byte("\n")) + 1
}
