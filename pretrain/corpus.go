package pretrain

import (
	"bufio"
	"bytes"
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
	"github.com/subtune/subtune/internal/utf8line"
	"github.com/subtune/subtune/tokenizer"
)

// Corpus is a tokenised corpus cut into blocks of BlockLen tokens.
type Corpus struct {
	Tokens   []uint16 // concatenated token ids, [CLS] … [SEP] per line
	BlockLen int
	// DocStarts are the indices, in Lines' order, of the lines that begin
	// a document: each file's first line and each line after a blank one.
	DocStarts []int
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
	stream, docs, ok := readCache(cache)
	if !ok {
		stream, docs = nil, nil
		lines := 0 // in the files before f
		for _, f := range files {
			ids, starts, n, err := tokenizeFile(f, tok)
			if err != nil {
				return nil, err
			}
			for _, d := range starts {
				docs = append(docs, lines+d)
			}
			stream, lines = append(stream, ids...), lines+n
		}
		if err := writeCache(cache, stream, docs); err != nil {
			return nil, err
		}
	}
	if len(stream) == 0 {
		return nil, fmt.Errorf("corpus %v holds no text", files)
	}
	return &Corpus{Tokens: stream, BlockLen: blockLen, DocStarts: docs}, nil
}

// readCache reads a token stream and, beside it in cache+".docs", the
// document starts (little-endian uint16 and uint32); ok is false when either
// is missing or damaged.
func readCache(cache string) (stream []uint16, docs []int, ok bool) {
	data, err := os.ReadFile(cache)
	if err != nil || len(data)%2 != 0 {
		return nil, nil, false
	}
	docData, err := os.ReadFile(cache + ".docs")
	if err != nil || len(docData)%4 != 0 {
		return nil, nil, false
	}
	stream = make([]uint16, len(data)/2)
	starts := make([]uint32, len(docData)/4)
	if binary.Read(bytes.NewReader(data), binary.LittleEndian, stream) != nil ||
		binary.Read(bytes.NewReader(docData), binary.LittleEndian, starts) != nil {
		return nil, nil, false
	}
	for _, d := range starts {
		docs = append(docs, int(d))
	}
	return stream, docs, true
}

func writeCache(cache string, stream []uint16, docs []int) error {
	if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
		return err
	}
	starts := make([]uint32, len(docs))
	for i, d := range docs {
		starts[i] = uint32(d)
	}
	// The stream last: readCache needs both, and the stream is the bigger.
	for _, f := range []struct {
		path string
		data any
	}{{cache + ".docs", starts}, {cache, stream}} {
		if err := atomicfile.WriteFile(f.path, func(w io.Writer) error {
			return binary.Write(w, binary.LittleEndian, f.data)
		}); err != nil {
			return err
		}
	}
	return nil
}

// tokenizeFile tokenises the lines of one file on all cores, keeping their
// order, and returns the indices of the lines that begin a document and the
// number of lines.
func tokenizeFile(path string, tok *tokenizer.Tokenizer) (stream []uint16, docStarts []int, lines int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, err
	}
	defer f.Close()
	var texts []string
	newDoc := true
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for lineNo := 1; sc.Scan(); lineNo++ {
		if err := utf8line.CheckBytes(sc.Bytes()); err != nil {
			return nil, nil, 0, fmt.Errorf("%s:%d: %w", path, lineNo, err)
		}
		if len(sc.Bytes()) == 0 {
			newDoc = true
			continue
		}
		if newDoc {
			docStarts = append(docStarts, len(texts))
			newDoc = false
		}
		texts = append(texts, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	out := make([][]uint16, len(texts))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(texts); i += workers {
				ids := tok.IDs(texts[i])
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
	for _, r := range out {
		stream = append(stream, r...)
	}
	return stream, docStarts, len(texts), nil
}
