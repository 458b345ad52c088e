package pretrain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/subtune/subtune/blas"
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
	// NextSentence adds BERT's next-sentence prediction: every sequence is
	// a pair of corpus lines (see pairSampler), the model is
	// BertForPreTraining and its pooler is trained too. Implies line-by-line
	// units: the pairs are padded to the batch's longest.
	NextSentence bool
	// InitFrom, a model folder, starts the run from its weights instead of
	// random ones (run_mlm's --model_name_or_path): Config is then the
	// folder's, heads it lacks are initialised, the optimiser starts
	// afresh and the learning-rate schedule (warmup, linear decay to
	// MaxSteps) starts at the folder's step. A training_log.json in the
	// folder (written by Export) carries the step count, tokens, wall time
	// and learning curve on.
	InitFrom string
	Seed     uint64
	Resume   bool
	Log      io.Writer

	afterStep func() // test hook: called after every optimiser step
}

// State is what a checkpoint records beside the weights.
type State struct {
	Step int `json:"global_step"`
	// ScheduleStart is the step at which this run's learning-rate
	// schedule began (non-zero for a run started with InitFrom).
	ScheduleStart int       `json:"schedule_start,omitempty"`
	MaxSteps      int       `json:"max_steps"`
	TokensSeen    int64     `json:"tokens_seen"`
	WallSeconds   float64   `json:"wall_seconds"`
	Seed          uint64    `json:"seed"`
	History       []LogLine `json:"log_history"`
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
	// Next-sentence prediction, in runs with NextSentence.
	NSPLoss    float64 `json:"nsp_loss,omitempty"`
	EvalNSPAcc float64 `json:"eval_nsp_accuracy,omitempty"`
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
	var units [][]uint16 // the sequences training draws from, or
	var anchors []int    // with NextSentence, the first segments' lines
	var pairs *pairSampler
	kind := "blocks of"
	switch {
	case o.NextSentence:
		if len(corpus.DocStarts) < 2 {
			return fmt.Errorf("next-sentence prediction needs a corpus of at least two documents (blank lines separate them)")
		}
		pairs = newPairSampler(corpus.Lines(uint16(tok.ClsID()), uint16(tok.SepID()), o.MaxSeqLength), corpus.DocStarts, o.MaxSeqLength)
		anchors, kind = pairs.anchors(), "line pairs of at most"
		if len(anchors) == 0 {
			return fmt.Errorf("next-sentence prediction needs a document of at least two lines; no document in %v has", o.Corpus)
		}
	case o.LineByLine:
		units, kind = corpus.Lines(uint16(tok.ClsID()), uint16(tok.SepID()), o.MaxSeqLength), "lines of at most"
	default:
		units = make([][]uint16, corpus.NumBlocks())
		for i := range units {
			units[i] = corpus.Block(i)
		}
	}
	nb := len(units) + len(anchors)
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

	head := model.MaskedLM
	if o.NextSentence {
		head = model.PreTraining
	}
	st := State{MaxSteps: o.MaxSteps, Seed: o.Seed}
	var m *model.Model
	if o.InitFrom != "" {
		var rep checkpoint.Report
		if m, rep, err = checkpoint.Load(o.InitFrom, head, checkpoint.Options{Seed: o.Seed}); err != nil {
			return err
		}
		cfg = m.Config
		if cfg.VocabSize != tok.VocabSize() {
			return fmt.Errorf("%s has vocab_size %d, the tokenizer in %s %d", o.InitFrom, cfg.VocabSize, o.TokenizerDir, tok.VocabSize())
		}
		if err := continueLog(o.InitFrom, &st); err != nil {
			return err
		}
		if st.Step >= o.MaxSteps {
			return fmt.Errorf("%s is at step %d already; --max_steps %d must be beyond it", o.InitFrom, st.Step, o.MaxSteps)
		}
		fmt.Fprintf(log, "initialised from %s at step %d; newly initialised: %v\n", o.InitFrom, st.Step, rep.Missing)
	} else {
		if m, err = model.New(cfg, head); err != nil {
			return err
		}
		m.Init(o.Seed)
	}
	groups := trainer.ParamGroups(m, o.LearningRate, o.WeightDecay, nil)
	opt := optim.NewAdamW(groups)
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
	fmt.Fprintf(log, "kernels: %s\n", blas.Describe())

	B, T := o.BatchSize, o.MaxSeqLength
	maxMasked := int(float64(B*T)*o.MLMProbability*1.5) + 16
	ws := m.NewWorkspace(B, T, maxMasked)
	batch := &model.Batch{B: B, T: T, InputIDs: make([]int32, B*T), TokenTypeIDs: make([]int32, B*T),
		AttentionMask: make([]int32, B*T), MLMLabels: make([]int32, B*T)}
	masker := &Masker{Prob: o.MLMProbability, MaskID: tok.MaskID(), PadID: tok.PadID(), VocabSize: tok.VocabSize(),
		Special: map[int32]bool{tok.ClsID(): true, tok.SepID(): true, tok.PadID(): true}, MaxMaskedPerBatch: maxMasked}
	if (o.LineByLine || o.NextSentence) && cfg.TypeVocabSize > 1 {
		masker.SegmentSep = tok.SepID()
	}
	blocks := make([][]uint16, B)
	pairBufs := make([][]uint16, B)
	if o.NextSentence {
		batch.NextSentenceLabels = make([]int32, B)
	}
	// fill puts unit u in the batch's row s; pair choices come from rng.
	fill := func(s, u int, rng *rand.Rand) {
		if pairs == nil {
			blocks[s] = units[u]
			return
		}
		pairBufs[s], batch.NextSentenceLabels[s] = pairs.pair(pairBufs[s], anchors[u], rng)
		blocks[s] = pairBufs[s]
	}

	save := func() error {
		st.WallSeconds += time.Since(start).Seconds()
		start = time.Now()
		_, err := trainer.SaveCheckpoint(o.OutputDir, st.Step, m, opt, st, 2)
		return err
	}
	evaluate := func() (loss, acc, nspAcc float64) {
		rng := rand.New(rand.NewPCG(o.Seed, 0xE7A1)) // same masks at every evaluation
		pairRNG := rand.New(rand.NewPCG(o.Seed, 0xE7A2))
		var sumLoss float64
		var correct, total, nspCorrect, nspTotal int
		for lo := 0; lo+B <= len(eval); lo += B {
			for s := 0; s < B; s++ {
				fill(s, eval[lo+s], pairRNG)
			}
			fitBatch(batch, blocks)
			masker.Mask(batch, blocks, rng)
			if _, err := m.Forward(ws, batch, model.Pass{}); err != nil {
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
			mlm, _ := ws.LossParts()
			sumLoss += mlm * float64(len(rows))
			total += len(rows)
			if pairs != nil {
				logits := ws.NextSentenceLogits()
				for s, label := range batch.NextSentenceLabels[:B] {
					if (logits[2*s+1] > logits[2*s]) == (label == 1) {
						nspCorrect++
					}
				}
				nspTotal += B
			}
		}
		if total == 0 { // fewer held-out sequences than a batch: nothing to report
			return 0, 0, 0
		}
		if nspTotal > 0 {
			nspAcc = float64(nspCorrect) / float64(nspTotal)
		}
		return sumLoss / float64(total), float64(correct) / float64(total), nspAcc
	}

	var order []int // the training blocks' order in epoch orderEpoch
	orderEpoch := -1
	bar := progress.New(log, "pretrain", st.Step, o.MaxSteps, 30*time.Second)
	var lossSum, nspSum float64
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
		first := (st.Step - st.ScheduleStart) * B
		pairRNG := rand.New(rand.NewPCG(o.Seed^0x9A125, uint64(st.Step)))
		for s := 0; s < B; s++ {
			k := first + s
			epoch, at := k/len(train), k%len(train)
			if epoch != orderEpoch {
				order, orderEpoch = epochOrder(o.Seed, epoch, len(train)), epoch
			}
			fill(s, train[order[at]], pairRNG)
		}
		tokens := fitBatch(batch, blocks)
		rng := rand.New(rand.NewPCG(o.Seed, uint64(st.Step)))
		masker.Mask(batch, blocks, rng)
		_, err := m.Forward(ws, batch, model.Pass{Train: true, Seed: o.Seed ^ uint64(st.Step)<<20})
		if err != nil {
			bar.Finish()
			return fmt.Errorf("step %d: %w (last good checkpoint kept in %s)", st.Step, err, o.OutputDir)
		}
		m.ZeroGrad()
		m.Backward(ws, batch)
		optim.ClipGradNorm(groups, 1.0)
		lr := optim.LinearWarmup(st.Step-st.ScheduleStart, o.WarmupSteps, o.MaxSteps-st.ScheduleStart)
		opt.Step(lr)
		st.Step++
		st.TokensSeen += int64(tokens)
		loss, nspLoss := ws.LossParts()
		lossSum += loss
		nspSum += nspLoss
		lossCount++
		if pairs != nil {
			bar.Update(st.Step, B, fmt.Sprintf("loss=%.4f nsp=%.4f", loss, nspLoss))
		} else {
			bar.Update(st.Step, B, fmt.Sprintf("loss=%.4f", loss))
		}
		if o.afterStep != nil {
			o.afterStep()
		}
		if st.Step%o.EvalEvery == 0 || st.Step == o.MaxSteps {
			el, ea, na := evaluate()
			line := LogLine{Step: st.Step, TokensSeen: st.TokensSeen, WallSeconds: st.WallSeconds + time.Since(start).Seconds(),
				LR: o.LearningRate * lr, Loss: lossSum / float64(lossCount), EvalLoss: el, EvalAcc: ea,
				NSPLoss: nspSum / float64(lossCount), EvalNSPAcc: na}
			st.History = append(st.History, line)
			lossSum, nspSum, lossCount = 0, 0, 0
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

// continueLog carries a model folder's training_log.json (the State Export
// writes) into st, so that a run started from the folder continues its step
// count, tokens, wall time and learning curve. A folder without one starts
// at step 0.
func continueLog(dir string, st *State) error {
	data, err := os.ReadFile(filepath.Join(dir, "training_log.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var prev State
	if err := json.Unmarshal(data, &prev); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, "training_log.json"), err)
	}
	st.Step, st.ScheduleStart, st.TokensSeen, st.WallSeconds = prev.Step, prev.Step, prev.TokensSeen, prev.WallSeconds
	st.History = prev.History
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
