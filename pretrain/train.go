package pretrain

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/optim"
	"github.com/subtune/subtune/progress"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/tokenizer"
	"github.com/subtune/subtune/trainer"
)

// Options configures a pre-training run.
type Options struct {
	Corpus       []string // text files
	TokenizerDir string
	OutputDir    string
	Config       model.Config // architecture; vocab_size and pad_token_id follow the tokenizer

	MaxSeqLength   int     // block length, 128
	BatchSize      int     // sequences per step
	LearningRate   float64 // peak
	WeightDecay    float64
	WarmupSteps    int
	MaxSteps       int
	MLMProbability float64
	EvalEvery      int // steps between held-out evaluations
	SaveEvery      int // steps between checkpoints
	EvalBlocks     int // held-out blocks or lines (taken from the corpus, never trained on)
	// LineByLine trains on each corpus line as its own sequence, [CLS]
	// first and padded to the batch's longest, as run_mlm --line_by_line;
	// otherwise the lines are concatenated and cut into blocks
	// (group_texts). Lines start as fine-tuning inputs do, with [CLS] at
	// position 0, which blocks cut anywhere in the stream do not. A line
	// holding a separator before its end, [CLS] A [SEP] B [SEP], is a
	// sentence pair: B's tokens get token type 1 as in BERT's pre-training.
	LineByLine bool
	Seed       uint64
	Resume     bool
	Log        io.Writer

	afterStep func() // test hook: called after every optimiser step
}

// State is what a checkpoint records beside the weights.
type State struct {
	Step        int       `json:"global_step"`
	MaxSteps    int       `json:"max_steps"`
	TokensSeen  int64     `json:"tokens_seen"`
	WallSeconds float64   `json:"wall_seconds"`
	Seed        uint64    `json:"seed"`
	History     []LogLine `json:"log_history"`
}

// LogLine is one point of the learning curve.
type LogLine struct {
	Step        int     `json:"step"`
	TokensSeen  int64   `json:"tokens_seen"`
	WallSeconds float64 `json:"wall_seconds"`
	LR          float64 `json:"learning_rate"`
	Loss        float64 `json:"loss,omitempty"`
	EvalLoss    float64 `json:"eval_loss,omitempty"`
	EvalAcc     float64 `json:"eval_accuracy,omitempty"`
}

// Run pre-trains until MaxSteps or until ctx is cancelled, in which case it
// saves a checkpoint first. The final model goes to OutputDir/model.
func Run(ctx context.Context, o Options) error {
	log := o.Log
	if log == nil {
		log = os.Stderr
	}
	tok, err := tokenizer.Load(o.TokenizerDir)
	if err != nil {
		return err
	}
	cfg := o.Config
	cfg.VocabSize, cfg.PadTokenID = tok.VocabSize(), int(tok.PadID())
	if o.MaxSeqLength > cfg.MaxPositionEmbeddings {
		return fmt.Errorf("max_seq_length %d exceeds max_position_embeddings %d", o.MaxSeqLength, cfg.MaxPositionEmbeddings)
	}
	if err := os.MkdirAll(o.OutputDir, 0o755); err != nil {
		return err
	}
	start := time.Now()
	corpus, err := LoadCorpus(o.Corpus, tok, o.MaxSeqLength, o.OutputDir)
	if err != nil {
		return err
	}
	// Held-out blocks: evenly spaced through the corpus, so every source
	// is represented; they are excluded from training.
	var units [][]uint16 // the sequences training draws from
	kind := "blocks of"
	if o.LineByLine {
		units, kind = corpus.Lines(uint16(tok.ClsID()), uint16(tok.SepID()), o.MaxSeqLength), "lines of at most"
	} else {
		units = make([][]uint16, corpus.NumBlocks())
		for i := range units {
			units[i] = corpus.Block(i)
		}
	}
	nb := len(units)
	if nb == 0 {
		return fmt.Errorf("corpus of %d tokens is shorter than one block of %d", len(corpus.Tokens), o.MaxSeqLength)
	}
	stride := max(2, nb/max(1, o.EvalBlocks))
	var train, eval []int
	for i := 0; i < nb; i++ {
		if i%stride == stride-1 && len(eval) < o.EvalBlocks {
			eval = append(eval, i)
		} else {
			train = append(train, i)
		}
	}
	fmt.Fprintf(log, "corpus: %d tokens in %d %s %d (%d train, %d held out), tokenised in %s\n",
		len(corpus.Tokens), nb, kind, o.MaxSeqLength, len(train), len(eval), time.Since(start).Round(time.Second))

	if len(eval) < o.BatchSize {
		fmt.Fprintf(log, "held-out set of %d is smaller than a batch of %d: no evaluation\n", len(eval), o.BatchSize)
	}

	m, err := model.New(cfg, model.MaskedLM)
	if err != nil {
		return err
	}
	m.Init(o.Seed)
	groups := trainer.ParamGroups(m, o.LearningRate, o.WeightDecay, nil)
	opt := optim.NewAdamW(groups)
	st := State{MaxSteps: o.MaxSteps, Seed: o.Seed}
	if o.Resume {
		if dir, ok := trainer.LatestCheckpoint(o.OutputDir); ok {
			if err := trainer.LoadCheckpoint(dir, m, opt, &st); err != nil {
				return err
			}
			fmt.Fprintf(log, "resumed from %s at step %d\n", dir, st.Step)
		}
	}
	fmt.Fprintf(log, "model: %d parameters (%d layers, hidden %d, %d heads, FFN %d, vocab %d)\n",
		m.NumParams(), cfg.NumHiddenLayers, cfg.HiddenSize, cfg.NumAttentionHeads, cfg.IntermediateSize, cfg.VocabSize)

	B, T := o.BatchSize, o.MaxSeqLength
	maxMasked := int(float64(B*T)*o.MLMProbability*1.5) + 16
	ws := m.NewWorkspace(B, T, maxMasked)
	batch := &model.Batch{B: B, T: T, InputIDs: make([]int32, B*T), TokenTypeIDs: make([]int32, B*T),
		AttentionMask: make([]int32, B*T), MLMLabels: make([]int32, B*T)}
	masker := &Masker{Prob: o.MLMProbability, MaskID: tok.MaskID(), PadID: tok.PadID(), VocabSize: tok.VocabSize(),
		Special: map[int32]bool{tok.ClsID(): true, tok.SepID(): true, tok.PadID(): true}, MaxMaskedPerBatch: maxMasked}
	if o.LineByLine && cfg.TypeVocabSize > 1 {
		masker.SegmentSep = tok.SepID()
	}
	blocks := make([][]uint16, B)

	save := func() error {
		st.WallSeconds += time.Since(start).Seconds()
		start = time.Now()
		_, err := trainer.SaveCheckpoint(o.OutputDir, st.Step, m, opt, st, 2)
		return err
	}
	evaluate := func() (loss, acc float64) {
		rng := rand.New(rand.NewPCG(o.Seed, 0xE7A1)) // same masks at every evaluation
		var sumLoss float64
		var correct, total int
		for lo := 0; lo+B <= len(eval); lo += B {
			for s := 0; s < B; s++ {
				blocks[s] = units[eval[lo+s]]
			}
			fitBatch(batch, blocks)
			masker.Mask(batch, blocks, rng)
			l, err := m.Forward(ws, batch, model.Pass{})
			if err != nil {
				continue
			}
			rows := ws.MaskedPositions()
			V := cfg.VocabSize
			for r, pos := range rows {
				logits := ws.Logits[r*V : (r+1)*V]
				best := 0
				for j, v := range logits {
					if v > logits[best] {
						best = j
					}
				}
				if int32(best) == batch.MLMLabels[pos] {
					correct++
				}
			}
			sumLoss += l * float64(len(rows))
			total += len(rows)
		}
		if total == 0 { // fewer held-out sequences than a batch: nothing to report
			return 0, 0
		}
		return sumLoss / float64(total), float64(correct) / float64(total)
	}

	var order []int // the training blocks' order in epoch orderEpoch
	orderEpoch := -1
	bar := progress.New(log, "pretrain", st.Step, o.MaxSteps, 30*time.Second)
	var lossSum float64
	var lossCount int
	for st.Step < o.MaxSteps {
		if err := ctx.Err(); err != nil {
			bar.Finish()
			if serr := save(); serr != nil {
				return serr
			}
			return fmt.Errorf("interrupted at step %d (checkpoint saved; rerun with --resume): %w", st.Step, err)
		}
		// Epoch e visits the training blocks in a permutation fixed by
		// (seed, e); step s takes the next B of them.
		first := st.Step * B
		for s := 0; s < B; s++ {
			k := first + s
			epoch, at := k/len(train), k%len(train)
			if epoch != orderEpoch {
				order, orderEpoch = epochOrder(o.Seed, epoch, len(train)), epoch
			}
			blocks[s] = units[train[order[at]]]
		}
		tokens := fitBatch(batch, blocks)
		rng := rand.New(rand.NewPCG(o.Seed, uint64(st.Step)))
		masker.Mask(batch, blocks, rng)
		loss, err := m.Forward(ws, batch, model.Pass{Train: true, Seed: o.Seed ^ uint64(st.Step)<<20})
		if err != nil {
			bar.Finish()
			return fmt.Errorf("step %d: %w (last good checkpoint kept in %s)", st.Step, err, o.OutputDir)
		}
		m.ZeroGrad()
		m.Backward(ws, batch)
		optim.ClipGradNorm(groups, 1.0)
		lr := optim.LinearWarmup(st.Step, o.WarmupSteps, o.MaxSteps)
		opt.Step(lr)
		st.Step++
		st.TokensSeen += int64(tokens)
		lossSum += loss
		lossCount++
		bar.Update(st.Step, B, fmt.Sprintf("loss=%.4f", loss))
		if o.afterStep != nil {
			o.afterStep()
		}
		if st.Step%o.EvalEvery == 0 || st.Step == o.MaxSteps {
			el, ea := evaluate()
			line := LogLine{Step: st.Step, TokensSeen: st.TokensSeen, WallSeconds: st.WallSeconds + time.Since(start).Seconds(),
				LR: o.LearningRate * lr, Loss: lossSum / float64(lossCount), EvalLoss: el, EvalAcc: ea}
			st.History = append(st.History, line)
			lossSum, lossCount = 0, 0
			js, _ := json.Marshal(line)
			bar.Println("%s", js)
		}
		if st.Step%o.SaveEvery == 0 || st.Step == o.MaxSteps {
			if err := save(); err != nil {
				return err
			}
		}
	}
	bar.Finish()
	final := filepath.Join(o.OutputDir, "model")
	if err := checkpoint.Save(final, m, safetensors.F32); err != nil {
		return err
	}
	if err := tok.Save(final); err != nil {
		return err
	}
	fmt.Fprintf(log, "saved %s\n", final)
	return nil
}

// fitBatch sets the batch's length to its longest sequence, as dynamic
// padding does, and returns the number of real tokens.
func fitBatch(b *model.Batch, seqs [][]uint16) int {
	b.T = 0
	tokens := 0
	for _, s := range seqs {
		b.T = max(b.T, len(s))
		tokens += len(s)
	}
	return tokens
}

// epochOrder is the order in which epoch visits n training blocks: a
// permutation fixed by (seed, epoch), so a resumed run finds the same order.
func epochOrder(seed uint64, epoch, n int) []int {
	return rand.New(rand.NewPCG(seed, uint64(epoch)+0x5EED)).Perm(n)
}
