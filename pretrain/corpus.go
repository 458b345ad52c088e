package pretrain

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/tokenizer"
)

// Corpus is a tokenised corpus cut into blocks of BlockLen tokens.
type Corpus struct {
	Tokens   []uint16 // concatenated token ids, [CLS] … [SEP] per line
	BlockLen int
}

// Lines returns the corpus lines as run_mlm's --line_by_line sees them:
// each [CLS] … [SEP] line of the stream, cut to at most maxLen tokens
// (keeping [CLS], the first maxLen−2 tokens and [SEP]), in corpus order.
func (c *Corpus) Lines(cls, sep uint16, maxLen int) [][]uint16 {
	var lines [][]uint16
	start := -1
	for i, id := range c.Tokens {
		if id != cls {
			continue
		}
		if start >= 0 {
			lines = append(lines, truncateLine(c.Tokens[start:i], sep, maxLen))
		}
		start = i
	}
	if start >= 0 && c.Tokens[len(c.Tokens)-1] == sep {
		lines = append(lines, truncateLine(c.Tokens[start:], sep, maxLen))
	}
	return lines
}

func truncateLine(line []uint16, sep uint16, maxLen int) []uint16 {
	if len(line) <= maxLen {
		return line
	}
	// A fresh copy: the stream itself must stay intact.
	out := append(make([]uint16, 0, maxLen), line[:maxLen-1]...)
	return append(out, sep)
}

// NumBlocks is the number of blocks.
func (c *Corpus) NumBlocks() int { return len(c.Tokens) / c.BlockLen }

// Block returns block i.
func (c *Corpus) Block(i int) []uint16 { return c.Tokens[i*c.BlockLen : (i+1)*c.BlockLen] }

// LoadCorpus tokenises the files (one paragraph per line; blank lines
// separate documents and are skipped), wrapping each line in [CLS] … [SEP]
// as run_mlm's tokenize_function does. Blocks of blockLen (NumBlocks, Block)
// drop the stream's remainder as group_texts does; Lines keeps every line.
// The token stream is cached in cacheDir under a name derived from the
// inputs, so a resumed run skips tokenisation.
func LoadCorpus(files []string, tok *tokenizer.Tokenizer, blockLen int, cacheDir string) (*Corpus, error) {
	if tok.VocabSize() > 1<<16 {
		return nil, fmt.Errorf("vocabulary of %d tokens does not fit the corpus cache's 16-bit ids", tok.VocabSize())
	}
	key := sha256.New()
	fmt.Fprintf(key, "v1 vocab=%d cls=%d sep=%d\n", tok.VocabSize(), tok.ClsID(), tok.SepID())
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(key, "%s %d %d\n", filepath.Base(f), st.Size(), st.ModTime().UnixNano())
	}
	for i := int32(0); i < int32(min(tok.VocabSize(), 2000)); i++ {
		fmt.Fprintln(key, tok.Token(i))
	}
	cache := filepath.Join(cacheDir, "tokens-"+hex.EncodeToString(key.Sum(nil))[:16]+".u16")
	var stream []uint16
	if data, err := os.ReadFile(cache); err == nil && len(data)%2 == 0 {
		stream = make([]uint16, len(data)/2)
		for i := range stream {
			stream[i] = binary.LittleEndian.Uint16(data[2*i:])
		}
	} else {
		for _, f := range files {
			ids, err := tokenizeFile(f, tok)
			if err != nil {
				return nil, err
			}
			stream = append(stream, ids...)
		}
		if err := os.MkdirAll(cacheDir, 0o755); err != nil {
			return nil, err
		}
		if err := atomicfile.WriteFile(cache, func(w io.Writer) error {
			buf := make([]byte, 2*len(stream))
			for i, v := range stream {
				binary.LittleEndian.PutUint16(buf[2*i:], v)
			}
			_, err := w.Write(buf)
			return err
		}); err != nil {
			return nil, err
		}
	}
	if len(stream) == 0 {
		return nil, fmt.Errorf("corpus %v holds no text", files)
	}
	return &Corpus{Tokens: stream, BlockLen: blockLen}, nil
}

// tokenizeFile tokenises the lines of one file on all cores, keeping their order.
func tokenizeFile(path string, tok *tokenizer.Tokenizer) ([]uint16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			lines = append(lines, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([][]uint16, len(lines))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(lines); i += workers {
				ids := tok.IDs(lines[i])
				row := make([]uint16, 0, len(ids)+2)
				row = append(row, uint16(tok.ClsID()))
				for _, id := range ids {
					row = append(row, uint16(id))
				}
				out[i] = append(row, uint16(tok.SepID()))
			}
		}()
	}
	wg.Wait()
	var stream []uint16
	for _, r := range out {
		stream = append(stream, r...)
	}
	return stream, nil
}
