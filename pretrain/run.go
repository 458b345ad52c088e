package pretrain

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/dirlock"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/tokenizer"
	"github.com/subtune/subtune/trainloop"
)

// Run pre-trains until MaxSteps or until ctx is cancelled, in which case it
// saves a checkpoint first. The final model goes to OutputDir/model.
func Run(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	// The folder is this run's until it returns; a second run into it is
	// refused with this one's pid.
	lock, err := dirlock.Acquire(o.OutputDir)
	if err != nil {
		return err
	}
	defer lock.Release()
	// What a run of this folder killed mid-write left behind.
	if err := trainloop.RemoveTemporaries(o.OutputDir); err != nil {
		return err
	}
	start := time.Now()
	p, err := prepare(&o)
	if err != nil {
		return err
	}
	if err := p.split(); err != nil {
		return err
	}
	if err := p.newModel(); err != nil {
		return err
	}
	t, err := p.newTask(start)
	if err != nil {
		return err
	}
	if err := t.run(ctx); err != nil {
		return err
	}
	final := filepath.Join(o.OutputDir, "model")
	if err := checkpoint.Save(final, p.m, safetensors.F32); err != nil {
		return err
	}
	if err := p.tok.Save(final); err != nil {
		return err
	}
	fmt.Fprintf(o.Log, "saved %s\n", final)
	return nil
}

// prep is what a run is built from: its tokenizer, corpus and model,
// and the sequences it trains and evaluates on.
type prep struct {
	o         *Options
	tok       *tokenizer.Tokenizer
	cfg       model.Config
	head      model.Head
	use       model.Usage
	maxMasked int

	corpus  *Corpus
	units   [][]uint16 // the sequences training draws from, or
	anchors []int      // with NextSentence, the first segments' lines
	pairs   *pairSampler
	train   []int // indices into units or anchors
	eval    []int // held out

	m  *model.Model
	st State
}

// prepare loads the tokenizer and the corpus, after checking that the
// architecture fits.
func prepare(o *Options) (*prep, error) {
	tok, err := tokenizer.Load(o.TokenizerDir)
	if err != nil {
		return nil, err
	}
	if len(o.GLUETrain) > 0 {
		pairSep := ""
		if o.GLUEPairs {
			pairSep = tok.Token(tok.SepID())
		}
		extra, err := GLUETrainCorpus(o.OutputDir, o.GLUEDataDir, o.GLUETrain, pairSep)
		if err != nil {
			return nil, err
		}
		o.Corpus = append(slices.Clip(o.Corpus), extra)
	}
	p := &prep{o: o, tok: tok, cfg: o.Config, head: model.MaskedLM}
	p.cfg.VocabSize, p.cfg.PadTokenID = tok.VocabSize(), int(tok.PadID())
	if o.MaxSeqLength > p.cfg.MaxPositionEmbeddings {
		return nil, fmt.Errorf("max_seq_length %d exceeds max_position_embeddings %d", o.MaxSeqLength, p.cfg.MaxPositionEmbeddings)
	}
	if o.NextSentence {
		p.head = model.PreTraining
	}
	B, T := o.BatchSize, o.MaxSeqLength
	p.maxMasked = int(float64(B*T)*o.MLMProbability*1.5) + 16
	p.use = model.Usage{Batch: B, SeqLen: T, MaskedPositions: p.maxMasked, Train: true, BF16: o.BF16}
	// Checked before the corpus is read; a folder's config is checked as
	// it loads.
	if o.InitFrom == "" {
		if err := p.cfg.CheckMemory(p.head, p.use, 0); err != nil {
			return nil, fmt.Errorf("architecture: %w", err)
		}
	}
	return p, nil
}

// split reads the corpus into training units and holds out the evaluation
// ones: evenly spaced through the corpus, so every source is represented.
func (p *prep) split() error {
	o, tok := p.o, p.tok
	start := time.Now()
	corpus, err := LoadCorpus(o.Corpus, tok, o.MaxSeqLength, o.OutputDir)
	if err != nil {
		return err
	}
	p.corpus = corpus
	kind := "blocks of"
	switch {
	case o.NextSentence:
		if len(corpus.DocStarts) < 2 {
			return fmt.Errorf("next-sentence prediction needs a corpus of at least two documents (blank lines separate them)")
		}
		p.pairs = newPairSampler(corpus.Lines(uint16(tok.ClsID()), uint16(tok.SepID()), o.MaxSeqLength), corpus.DocStarts, o.MaxSeqLength)
		p.anchors, kind = p.pairs.anchors(), "line pairs of at most"
		if len(p.anchors) == 0 {
			return fmt.Errorf("next-sentence prediction needs a document of at least two lines; no document in %v has", o.Corpus)
		}
	case o.LineByLine:
		p.units, kind = corpus.Lines(uint16(tok.ClsID()), uint16(tok.SepID()), o.MaxSeqLength), "lines of at most"
	default:
		p.units = make([][]uint16, corpus.NumBlocks())
		for i := range p.units {
			p.units[i] = corpus.Block(i)
		}
	}
	nb := len(p.units) + len(p.anchors)
	if nb == 0 {
		return fmt.Errorf("corpus of %d tokens is shorter than one block of %d", len(corpus.Tokens), o.MaxSeqLength)
	}
	stride := max(2, nb/max(1, o.EvalBlocks))
	for i := 0; i < nb; i++ {
		if i%stride == stride-1 && len(p.eval) < o.EvalBlocks {
			p.eval = append(p.eval, i)
		} else {
			p.train = append(p.train, i)
		}
	}
	fmt.Fprintf(o.Log, "corpus: %d tokens in %d %s %d (%d train, %d held out), tokenised in %s\n",
		len(corpus.Tokens), nb, kind, o.MaxSeqLength, len(p.train), len(p.eval), time.Since(start).Round(time.Second))
	if len(p.eval) < o.BatchSize {
		fmt.Fprintf(o.Log, "held-out set of %d is smaller than a batch of %d: no evaluation\n", len(p.eval), o.BatchSize)
	}
	return nil
}

// newModel initialises the model, or loads it from InitFrom with the
// training log it continues.
func (p *prep) newModel() error {
	o := p.o
	p.st = State{MaxSteps: o.MaxSteps, Seed: o.Seed}
	if o.InitFrom == "" {
		m, err := model.New(p.cfg, p.head)
		if err != nil {
			return err
		}
		m.Init(o.Seed)
		p.m = m
		return nil
	}
	m, rep, err := checkpoint.Load(o.InitFrom, p.head, checkpoint.Options{Seed: o.Seed, Usage: p.use})
	if err != nil {
		return err
	}
	p.m, p.cfg = m, m.Config
	if p.cfg.VocabSize != p.tok.VocabSize() {
		return fmt.Errorf("%s has vocab_size %d, the tokenizer in %s %d", o.InitFrom, p.cfg.VocabSize, o.TokenizerDir, p.tok.VocabSize())
	}
	if err := continueLog(o.InitFrom, &p.st); err != nil {
		return err
	}
	if p.st.Step >= o.MaxSteps {
		return fmt.Errorf("%s is at step %d already; --max_steps %d must be beyond it", o.InitFrom, p.st.Step, o.MaxSteps)
	}
	fmt.Fprintf(o.Log, "initialised from %s at step %d; newly initialised: %v\n", o.InitFrom, p.st.Step, rep.Missing)
	return nil
}
