package trainer

import (
	"cmp"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/tokenizer"
)

// Dataset is a split tokenised once, up front: the ids of every example in
// one flat array, so that assembling a batch only copies.
type Dataset struct {
	Examples []glue.Example // the rows, for metrics and predictions
	ids      []int32        // all examples' input ids, concatenated
	types    []int32        // their token type ids
	start    []int          // example i is [start[i], start[i+1])
}

// Tokenize encodes examples as run_glue's preprocess_function does:
// tokenizer(text_a, text_b, truncation=True, max_length=maxLen), no padding.
func Tokenize(tok *tokenizer.Tokenizer, examples []glue.Example, maxLen int) *Dataset {
	encs := make([]tokenizer.Encoding, len(examples))
	// Encode is safe for concurrent use; big training sets (MNLI, QQP) are
	// worth spreading over the cores.
	workers := min(runtime.GOMAXPROCS(0), max(1, len(examples)/256))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(examples); i += workers {
				ex := &examples[i]
				encs[i] = tok.Encode(ex.TextA, ex.TextB, ex.HasPair, maxLen)
			}
		}()
	}
	wg.Wait()
	d := &Dataset{Examples: examples, start: make([]int, len(examples)+1)}
	n := 0
	for i, e := range encs {
		n += len(e.InputIDs)
		d.start[i+1] = n
	}
	d.ids, d.types = make([]int32, 0, n), make([]int32, 0, n)
	for _, e := range encs {
		d.ids = append(d.ids, e.InputIDs...)
		d.types = append(d.types, e.TokenTypeIDs...)
	}
	return d
}

// Len is the number of examples.
func (d *Dataset) Len() int { return len(d.Examples) }

// SeqLen is example i's length in tokens, special tokens included.
func (d *Dataset) SeqLen(i int) int { return d.start[i+1] - d.start[i] }

// Lengths lists every example's length.
func (d *Dataset) Lengths() []int {
	l := make([]int, d.Len())
	for i := range l {
		l[i] = d.SeqLen(i)
	}
	return l
}

// MaxLen is the longest example.
func (d *Dataset) MaxLen() int {
	m := 0
	for i := 0; i < d.Len(); i++ {
		m = max(m, d.SeqLen(i))
	}
	return m
}

// batcher assembles padded batches into buffers allocated once.
type batcher struct {
	ids, types, mask []int32
	labels           []int32
	targets          []float32
	b                model.Batch
	padID            int32
	padTo            int  // > 0: pad every batch to this length (pad_to_max_length)
	regression       bool // fill Targets rather than Labels
}

func newBatcher(maxB, maxT int, padID int32, padTo int, regression bool) *batcher {
	n := maxB * maxT
	return &batcher{ids: make([]int32, n), types: make([]int32, n), mask: make([]int32, n),
		labels: make([]int32, maxB), targets: make([]float32, maxB),
		padID: padID, padTo: padTo, regression: regression}
}

// fill pads the examples idx of d on the right to the longest of them (or
// to padTo), as DataCollatorWithPadding does, and returns the batch. Labels
// are set only when every example has one.
func (bt *batcher) fill(d *Dataset, idx []int) *model.Batch {
	T := bt.padTo
	if T <= 0 {
		for _, i := range idx {
			T = max(T, d.SeqLen(i))
		}
	}
	B := len(idx)
	labeled := true
	for r, i := range idx {
		row := bt.ids[r*T : (r+1)*T]
		trow, mrow := bt.types[r*T:(r+1)*T], bt.mask[r*T:(r+1)*T]
		lo, hi := d.start[i], d.start[i+1]
		n := copy(row, d.ids[lo:hi])
		copy(trow, d.types[lo:hi])
		for j := 0; j < n; j++ {
			mrow[j] = 1
		}
		for j := n; j < T; j++ {
			row[j], trow[j], mrow[j] = bt.padID, 0, 0
		}
		ex := &d.Examples[i]
		labeled = labeled && ex.HasLabel
		bt.labels[r], bt.targets[r] = int32(ex.Label), ex.Score
	}
	bt.b = model.Batch{B: B, T: T, InputIDs: bt.ids[:B*T], TokenTypeIDs: bt.types[:B*T], AttentionMask: bt.mask[:B*T]}
	if labeled {
		if bt.regression {
			bt.b.Targets = bt.targets[:B]
		} else {
			bt.b.Labels = bt.labels[:B]
		}
	}
	return &bt.b
}

// epochOrder returns the order in which epoch e visits n training examples:
// a permutation fixed by (seed, e), so that a resumed run finds the same
// order without saving any random state. With groupByLength it follows
// transformers' LengthGroupedSampler: the permutation is cut into
// mega-batches of min(n/(4·batch), 50) batches, each sorted by length,
// longest first, and the longest example is moved to the very front.
func epochOrder(seed uint64, epoch int, lengths []int, batchSize int, groupByLength bool) []int {
	n := len(lengths)
	rng := rand.New(rand.NewPCG(seed, 0x5EED0000+uint64(epoch)))
	perm := rng.Perm(n)
	if !groupByLength || n == 0 {
		return perm
	}
	mult := max(1, min(n/(batchSize*4), 50))
	mega := mult * batchSize
	var heads []int // index in perm of each mega-batch's first element
	for lo := 0; lo < n; lo += mega {
		part := perm[lo:min(lo+mega, n)]
		slices.SortStableFunc(part, func(a, b int) int { return cmp.Compare(lengths[b], lengths[a]) })
		heads = append(heads, lo)
	}
	longest := heads[0]
	for _, h := range heads {
		if lengths[perm[h]] > lengths[perm[longest]] {
			longest = h
		}
	}
	perm[0], perm[longest] = perm[longest], perm[0]
	return perm
}

// dropoutSeed gives micro-batch k of a run its own dropout masks, a pure
// function of (seed, k) so that a resumed run replays them.
func dropoutSeed(seed uint64, k int) uint64 {
	z := seed*0x9E3779B97F4A7C15 + uint64(k)*0xBF58476D1CE4E5B9 + 0x94D049BB133111EB
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}
