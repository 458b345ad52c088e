package pretrain

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"time"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/progress"
	"github.com/subtune/subtune/trainloop"
)

// pretraining is the Task of trainloop.Run that pre-training is: masked
// blocks, lines or line pairs in an order fixed by the seed, the learning
// curve with held-out evaluations, and checkpoints every SaveEvery steps.
type pretraining struct {
	*prep
	loop     *trainloop.Loop
	ck       *trainloop.Checkpointer
	batch    *model.Batch
	masker   *Masker
	blocks   [][]uint16 // the batch's sequences
	pairBufs [][]uint16 // buffers of the next-sentence pairs

	order      []int // the training units' order in epoch orderEpoch
	orderEpoch int
	tokens     int // real tokens of the step being taken

	bar             *progress.Reporter
	start           time.Time // of the wall time not yet in st.WallSeconds
	lossSum, nspSum float64   // since the last line of the learning curve
	lossCount       int
}

// newTask builds the optimiser step and the batch buffers, and resumes the
// newest checkpoint when asked to. start is when the run began.
func (p *prep) newTask(start time.Time) (*pretraining, error) {
	o, tok, cfg := p.o, p.tok, p.cfg
	B, T := o.BatchSize, o.MaxSeqLength
	if err := p.m.SetBF16(o.BF16); err != nil {
		return nil, fmt.Errorf("--bf16: %w", err)
	}
	ws := p.m.NewWorkspace(B, T, p.maxMasked)
	t := &pretraining{prep: p, orderEpoch: -1, start: start, blocks: make([][]uint16, B), pairBufs: make([][]uint16, B)}
	t.loop = trainloop.New(p.m, ws, trainloop.Config{LearningRate: o.LearningRate, WeightDecay: o.WeightDecay,
		MaxGradNorm: 1, WarmupSteps: o.WarmupSteps, TotalSteps: o.MaxSteps})
	t.ck = &trainloop.Checkpointer{Dir: o.OutputDir, Loop: t.loop, Settings: o.settings(len(p.corpus.Tokens)), Keep: 2, State: &p.st}
	t.loop.Step = p.st.Step
	if o.Resume {
		if dir, ok := trainloop.LatestCheckpoint(o.OutputDir); ok {
			if err := t.ck.Load(dir, &p.st.Step); err != nil {
				return nil, err
			}
			fmt.Fprintf(o.Log, "resumed from %s at step %d\n", dir, p.st.Step)
		}
	}
	t.loop.Config.ScheduleStart = p.st.ScheduleStart
	fmt.Fprintf(o.Log, "model: %d parameters (%d layers, hidden %d, %d heads, FFN %d, vocab %d)\n",
		p.m.NumParams(), cfg.NumHiddenLayers, cfg.HiddenSize, cfg.NumAttentionHeads, cfg.IntermediateSize, cfg.VocabSize)
	fmt.Fprintf(o.Log, "kernels: %s\n", blas.Describe())
	if o.BF16 {
		fmt.Fprintf(o.Log, "bf16 mixed precision: %s\n", blas.BF16Describe())
	}

	t.batch = &model.Batch{B: B, T: T, InputIDs: make([]int32, B*T), TokenTypeIDs: make([]int32, B*T),
		AttentionMask: make([]int32, B*T), MLMLabels: make([]int32, B*T)}
	if o.NextSentence {
		t.batch.NextSentenceLabels = make([]int32, B)
	}
	t.masker = &Masker{Prob: o.MLMProbability, MaskID: tok.MaskID(), PadID: tok.PadID(), VocabSize: tok.VocabSize(),
		Special: map[int32]bool{tok.ClsID(): true, tok.SepID(): true, tok.PadID(): true}, MaxMaskedPerBatch: p.maxMasked}
	if (o.LineByLine || o.NextSentence) && cfg.TypeVocabSize > 1 {
		t.masker.SegmentSep = tok.SepID()
	}
	return t, nil
}

// run takes the steps, with a progress bar.
func (t *pretraining) run(ctx context.Context) error {
	t.bar = progress.New(t.o.Log, "pretrain", t.st.Step, t.o.MaxSteps, 30*time.Second)
	defer t.bar.Finish()
	return trainloop.Run(ctx, t.loop, t.o.MaxSteps, t)
}

// fill puts unit u in the batch's row s; pair choices come from rng.
func (t *pretraining) fill(s, u int, rng *rand.Rand) {
	if t.pairs == nil {
		t.blocks[s] = t.units[u]
		return
	}
	t.pairBufs[s], t.batch.NextSentenceLabels[s] = t.pairs.pair(t.pairBufs[s], t.anchors[u], rng)
	t.blocks[s] = t.pairBufs[s]
}

// Batches yields the one batch of the step after `step` steps: epoch e
// visits the training units in a permutation fixed by (seed, e), and each
// step takes the next B of them, masked by (seed, step).
func (t *pretraining) Batches(step int) iter.Seq2[*model.Batch, uint64] {
	return func(yield func(*model.Batch, uint64) bool) {
		o, B := t.o, t.o.BatchSize
		first := (step - t.st.ScheduleStart) * B
		pairRNG := rand.New(rand.NewPCG(o.Seed^0x9A125, uint64(step)))
		for s := 0; s < B; s++ {
			k := first + s
			epoch, at := k/len(t.train), k%len(t.train)
			if epoch != t.orderEpoch {
				t.order, t.orderEpoch = epochOrder(o.Seed, epoch, len(t.train)), epoch
			}
			t.fill(s, t.train[t.order[at]], pairRNG)
		}
		t.tokens = fitBatch(t.batch, t.blocks)
		t.masker.Mask(t.batch, t.blocks, rand.New(rand.NewPCG(o.Seed, uint64(step))))
		yield(t.batch, o.Seed^uint64(step)<<20)
	}
}

// Stepped adds the step to the learning curve, whose next line, with a
// held-out evaluation, is due every EvalEvery steps and at the end.
func (t *pretraining) Stepped(stats trainloop.StepStats) (bool, error) {
	o, st := t.o, &t.st
	st.Step = t.loop.Step
	st.TokensSeen += int64(t.tokens)
	loss, nspLoss := t.loop.WS.LossParts()
	t.lossSum += loss
	t.nspSum += nspLoss
	t.lossCount++
	if t.pairs != nil {
		t.bar.Update(st.Step, o.BatchSize, fmt.Sprintf("loss=%.4f nsp=%.4f", loss, nspLoss))
	} else {
		t.bar.Update(st.Step, o.BatchSize, fmt.Sprintf("loss=%.4f", loss))
	}
	if o.afterStep != nil {
		o.afterStep()
	}
	end := st.Step == o.MaxSteps
	if st.Step%o.EvalEvery == 0 || end {
		if err := t.logLine(stats); err != nil {
			return false, err
		}
	}
	return st.Step%o.SaveEvery == 0 || end, nil
}

// logLine adds a line to the learning curve: the mean losses since the
// last one and a held-out evaluation.
func (t *pretraining) logLine(stats trainloop.StepStats) error {
	st := &t.st
	ev, err := t.evaluate()
	if err != nil {
		return err
	}
	line := LogLine{Step: st.Step, TokensSeen: st.TokensSeen, WallSeconds: st.WallSeconds + time.Since(t.start).Seconds(),
		LR: stats.LR, Loss: t.lossSum / float64(t.lossCount), EvalLoss: ev.loss, EvalAcc: ev.acc,
		NSPLoss: t.nspSum / float64(t.lossCount), EvalNSPAcc: ev.nspAcc}
	st.History = append(st.History, line)
	t.lossSum, t.nspSum, t.lossCount = 0, 0, 0
	js, _ := json.Marshal(line)
	t.bar.Println("%s", js)
	return nil
}

// Checkpoint saves the checkpoint of the current step.
func (t *pretraining) Checkpoint() (string, error) {
	t.st.WallSeconds += time.Since(t.start).Seconds()
	t.start = time.Now()
	return t.ck.Save()
}

// Stopped says that the step failed and where the last good checkpoint is.
func (t *pretraining) Stopped(step int, err error) error {
	return fmt.Errorf("step %d: %w (last good checkpoint kept in %s)", step, err, t.o.OutputDir)
}

// evaluation is the model's score on the held-out units.
type evaluation struct {
	loss, acc float64 // masked-LM loss and accuracy
	nspAcc    float64 // next-sentence accuracy, with NextSentence
}

// evaluate scores the held-out units, in batches of B (a shorter rest is
// left out), with the same masks and pairs at every evaluation. A batch
// whose loss is not finite is left out: the learning curve's JSON has no
// NaN.
func (t *pretraining) evaluate() (evaluation, error) {
	o, B, ws, batch := t.o, t.o.BatchSize, t.loop.WS, t.batch
	rng := rand.New(rand.NewPCG(o.Seed, 0xE7A1))
	pairRNG := rand.New(rand.NewPCG(o.Seed, 0xE7A2))
	var sumLoss float64
	var correct, total, nspCorrect, nspTotal int
	for lo := 0; lo+B <= len(t.eval); lo += B {
		for s := 0; s < B; s++ {
			t.fill(s, t.eval[lo+s], pairRNG)
		}
		fitBatch(batch, t.blocks)
		t.masker.Mask(batch, t.blocks, rng)
		loss, err := t.m.Forward(ws, batch, model.Pass{})
		if err != nil {
			return evaluation{}, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			continue
		}
		rows := ws.MaskedPositions()
		V := t.cfg.VocabSize
		for r, pos := range rows {
			if int32(model.Argmax(ws.Logits[r*V:(r+1)*V])) == batch.MLMLabels[pos] {
				correct++
			}
		}
		mlm, _ := ws.LossParts()
		sumLoss += mlm * float64(len(rows))
		total += len(rows)
		if t.pairs != nil {
			logits := ws.NextSentenceLogits()
			for s, label := range batch.NextSentenceLabels[:B] {
				if int32(model.Argmax(logits[2*s:2*s+2])) == label {
					nspCorrect++
				}
			}
			nspTotal += B
		}
	}
	if total == 0 { // fewer held-out sequences than a batch: nothing to report
		return evaluation{}, nil
	}
	ev := evaluation{loss: sumLoss / float64(total), acc: float64(correct) / float64(total)}
	if nspTotal > 0 {
		ev.nspAcc = float64(nspCorrect) / float64(nspTotal)
	}
	return ev, nil
}
