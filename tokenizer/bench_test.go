package tokenizer

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// sst2Train is GLUE SST-2's training set in the shared data folder.
const sst2Train = "../../shared/glue/SST-2/train.tsv"

func readSST2(b *testing.B) []string {
	b.Helper()
	f, err := os.Open(sst2Train)
	if err != nil {
		b.Skipf("SST-2 not available: %v", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		if first {
			continue // header
		}
		sentence, _, _ := strings.Cut(sc.Text(), "\t")
		out = append(out, sentence)
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkTokenizeSST2 encodes SST-2's 67,349 training sentences (as
// run_glue does, max_seq_length 128) and reports sentences per second.
func BenchmarkTokenizeSST2(b *testing.B) {
	sentences := readSST2(b)
	for _, dir := range []string{"bert-base-uncased", "roberta-base"} {
		b.Run(dir, func(b *testing.B) {
			tok := loadShared(b, "testdata/"+dir)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for _, s := range sentences {
					tok.Encode(s, "", false, DefaultMaxSeqLength)
				}
				n += len(sentences)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "sentences/s")
		})
	}
}
