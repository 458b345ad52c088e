package pretrain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/optim"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trainloop"
)

// TestMaskerProportions checks DataCollatorForLanguageModeling's rates:
// 15% of ordinary tokens predicted, of those 80% [MASK], 10% random, 10%
// kept; special tokens never.
func TestMaskerProportions(t *testing.T) {
	const B, T = 64, 128
	mk := &Masker{Prob: 0.15, MaskID: 103, VocabSize: 30522, Special: map[int32]bool{101: true, 102: true, 0: true}, MaxMaskedPerBatch: B * T}
	b := &model.Batch{B: B, T: T, InputIDs: make([]int32, B*T), TokenTypeIDs: make([]int32, B*T), AttentionMask: make([]int32, B*T), MLMLabels: make([]int32, B*T)}
	blocks := make([][]uint16, B)
	for s := range blocks {
		blocks[s] = make([]uint16, T)
		for i := range blocks[s] {
			blocks[s][i] = uint16(1000 + (s*T+i)%20000)
		}
		blocks[s][0], blocks[s][T-1] = 101, 102
	}
	var ordinary, predicted, masked, kept int
	rng := rand.New(rand.NewPCG(1, 2))
	for rep := 0; rep < 20; rep++ {
		mk.Mask(b, blocks, rng)
		for i, l := range b.MLMLabels {
			orig := int32(blocks[i/T][i%T])
			if mk.Special[orig] {
				if l != model.IgnoreIndex || b.InputIDs[i] != orig {
					t.Fatalf("special token %d at %d was masked", orig, i)
				}
				continue
			}
			ordinary++
			if l == model.IgnoreIndex {
				if b.InputIDs[i] != orig {
					t.Fatalf("unpredicted token changed at %d", i)
				}
				continue
			}
			predicted++
			switch b.InputIDs[i] {
			case 103:
				masked++
			case orig:
				kept++
			}
		}
	}
	rate := float64(predicted) / float64(ordinary)
	if rate < 0.145 || rate > 0.155 {
		t.Errorf("predicted %.4f of tokens, want 0.15", rate)
	}
	if f := float64(masked) / float64(predicted); f < 0.78 || f > 0.82 {
		t.Errorf("[MASK] for %.3f of predicted tokens, want 0.8", f)
	}
	// Kept ≈ 10%, plus the rare random draw that equals the original.
	if f := float64(kept) / float64(predicted); f < 0.085 || f > 0.115 {
		t.Errorf("unchanged for %.3f of predicted tokens, want 0.1", f)
	}
}

// TestRunResume pre-trains a tiny model 6 steps at once and in two halves,
// the second resumed from the checkpoint the first wrote when it was
// interrupted: the final weights must agree to the bit.
func TestRunResume(t *testing.T) {
	for _, tc := range []struct{ lineByLine, nextSentence bool }{{false, false}, {true, false}, {false, true}} {
		t.Run(fmt.Sprintf("line_by_line=%v,next_sentence=%v", tc.lineByLine, tc.nextSentence), func(t *testing.T) {
			testRunResume(t, tc.lineByLine, tc.nextSentence)
		})
	}
}

// writeTestCorpus writes 400 lines in documents of 10.
func writeTestCorpus(t *testing.T, dir string) string {
	corpus := filepath.Join(dir, "corpus.txt")
	var text strings.Builder
	for i := 0; i < 400; i++ {
		text.WriteString("the quick brown fox jumps over the lazy dog" + strings.Repeat(" and the cat sleeps in the warm sun", i%4) + " .\n")
		if i%10 == 9 {
			text.WriteString("\n")
		}
	}
	if err := os.WriteFile(corpus, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return corpus
}

func testOptions(corpus, dir string, steps int) Options {
	cfg := model.DefaultConfig("bert")
	cfg.NumHiddenLayers, cfg.HiddenSize, cfg.NumAttentionHeads, cfg.IntermediateSize, cfg.MaxPositionEmbeddings = 1, 16, 2, 32, 64
	return Options{Corpus: []string{corpus}, TokenizerDir: "../tokenizer/testdata/bert-base-uncased", OutputDir: dir, Config: cfg,
		MaxSeqLength: 32, BatchSize: 8, LearningRate: 1e-2, WarmupSteps: 1, MaxSteps: steps, MLMProbability: 0.15,
		EvalEvery: 3, SaveEvery: 3, EvalBlocks: 8, Seed: 7, Log: &strings.Builder{}}
}

func testRunResume(t *testing.T, lineByLine, nextSentence bool) {
	tmp := t.TempDir()
	corpus := writeTestCorpus(t, tmp)
	opts := func(dir string, steps int, resume bool) Options {
		o := testOptions(corpus, dir, steps)
		o.Resume, o.LineByLine, o.NextSentence = resume, lineByLine, nextSentence
		return o
	}
	whole, halves := filepath.Join(tmp, "whole"), filepath.Join(tmp, "halves")
	if err := Run(context.Background(), opts(whole, 6, false)); err != nil {
		t.Fatal(err)
	}
	first := opts(halves, 6, false)
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	first.afterStep = func() {
		if steps++; steps == 3 {
			cancel()
		}
	}
	if err := Run(ctx, first); err == nil {
		t.Fatal("the interrupted run reported success")
	}
	if err := Run(context.Background(), opts(halves, 6, true)); err != nil {
		t.Fatal(err)
	}
	a, _, err := safetensors.ReadFile(filepath.Join(whole, "model", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := safetensors.ReadFile(filepath.Join(halves, "model", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for name, ta := range a {
		if !slices.Equal(ta.F32, b[name].F32) {
			t.Errorf("%s differs between the whole run and the resumed one", name)
		}
	}
}

// TestLines checks run_mlm --line_by_line's view of the stream: one
// [CLS] … [SEP] sequence per line, long ones cut to keep both ends' markers.
func TestLines(t *testing.T) {
	const cls, sep = 101, 102
	c := &Corpus{Tokens: []uint16{cls, 5, 6, sep, cls, 7, 8, 9, 10, 11, sep, cls, 12, sep}}
	got := c.Lines(cls, sep, 5)
	want := [][]uint16{{cls, 5, 6, sep}, {cls, 7, 8, 9, sep}, {cls, 12, sep}}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("line %d = %v, want %v", i, got[i], want[i])
		}
	}
	if c.Tokens[9] != 11 {
		t.Error("truncating a line changed the stream")
	}
	// A stream cut inside its last line (blocks drop the remainder) ends without it.
	c.Tokens = c.Tokens[:13]
	if got := c.Lines(cls, sep, 5); len(got) != 2 {
		t.Errorf("%d lines from a stream cut mid-line, want 2", len(got))
	}
}

// TestMaskerPadding: positions past a short sequence are padding, neither
// attended to nor predicted.
func TestMaskerPadding(t *testing.T) {
	const T = 6
	mk := &Masker{Prob: 1, MaskID: 103, PadID: 0, VocabSize: 200, Special: map[int32]bool{101: true, 102: true, 0: true}, MaxMaskedPerBatch: 100}
	b := &model.Batch{B: 2, T: T, InputIDs: make([]int32, 2*T), TokenTypeIDs: make([]int32, 2*T), AttentionMask: make([]int32, 2*T), MLMLabels: make([]int32, 2*T)}
	mk.Mask(b, [][]uint16{{101, 150, 151, 152, 153, 102}, {101, 160, 102}}, rand.New(rand.NewPCG(1, 1)))
	for i := T + 3; i < 2*T; i++ {
		if b.InputIDs[i] != 0 || b.AttentionMask[i] != 0 || b.MLMLabels[i] != model.IgnoreIndex {
			t.Errorf("padding position %d: id %d mask %d label %d", i, b.InputIDs[i], b.AttentionMask[i], b.MLMLabels[i])
		}
	}
	if b.AttentionMask[T+2] != 1 || b.MLMLabels[T+1] != 160 {
		t.Errorf("the short sequence's own tokens: mask %v labels %v", b.AttentionMask[T:], b.MLMLabels[T:])
	}
}

// TestMaskerSegments: with SegmentSep, a line holding an inner [SEP] is a
// sentence pair and B's tokens (its [SEP] included) get type 1, as the
// tokenizer's pair encoding gives them; padding and single sentences stay 0,
// and without SegmentSep (blocks) every type is 0.
func TestMaskerSegments(t *testing.T) {
	const T = 8
	seqs := [][]uint16{
		{101, 150, 151, 102, 160, 161, 102}, // [CLS] A A [SEP] B B [SEP] + 1 padding
		{101, 150, 151, 152, 102},           // single sentence + 3 padding
	}
	for _, tc := range []struct {
		name string
		sep  int32
		want []int32
	}{
		{"pairs", 102, []int32{0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"off", 0, make([]int32, 2*T)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mk := &Masker{Prob: 0.15, MaskID: 103, PadID: 0, VocabSize: 200, Special: map[int32]bool{101: true, 102: true, 0: true}, MaxMaskedPerBatch: 100, SegmentSep: tc.sep}
			b := &model.Batch{B: 2, T: T, InputIDs: make([]int32, 2*T), TokenTypeIDs: make([]int32, 2*T), AttentionMask: make([]int32, 2*T), MLMLabels: make([]int32, 2*T)}
			for i := range b.TokenTypeIDs {
				b.TokenTypeIDs[i] = 7 // stale values from a previous batch must go
			}
			mk.Mask(b, seqs, rand.New(rand.NewPCG(1, 1)))
			if !slices.Equal(b.TokenTypeIDs, tc.want) {
				t.Errorf("token types %v, want %v", b.TokenTypeIDs, tc.want)
			}
		})
	}
}

// TestRunShortCorpus: a corpus shorter than one block cannot train in blocks
// (the error says so) but trains line by line; an empty one is an error, and
// so is next-sentence prediction without two documents or a two-line one.
func TestRunShortCorpus(t *testing.T) {
	tmp := t.TempDir()
	short, empty := filepath.Join(tmp, "short.txt"), filepath.Join(tmp, "empty.txt")
	os.WriteFile(short, []byte("the quick brown fox .\njumps over the lazy dog .\n"), 0o644)
	os.WriteFile(empty, []byte("\n\n"), 0o644)
	cfg := model.DefaultConfig("bert")
	cfg.NumHiddenLayers, cfg.HiddenSize, cfg.NumAttentionHeads, cfg.IntermediateSize, cfg.MaxPositionEmbeddings = 1, 16, 2, 32, 64
	oneLineDocs := filepath.Join(tmp, "one-line-docs.txt")
	os.WriteFile(oneLineDocs, []byte("the quick brown fox .\n\njumps over the lazy dog .\n"), 0o644)
	badBytes := filepath.Join(tmp, "bad-bytes.txt")
	os.WriteFile(badBytes, []byte("the quick brown fox .\n\nna\xefve dog .\n"), 0o644)
	for _, tc := range []struct {
		corpus                   string
		lineByLine, nextSentence bool
		err                      string
	}{
		{short, false, false, "shorter than one block of 32"},
		{short, true, false, ""},
		{empty, true, false, "holds no text"},
		{short, false, true, "at least two documents"},
		{oneLineDocs, false, true, "a document of at least two lines"},
		{badBytes, true, false, "bad-bytes.txt:3: invalid UTF-8: byte 0xef at column 3"},
	} {
		o := Options{Corpus: []string{tc.corpus}, TokenizerDir: "../tokenizer/testdata/bert-base-uncased", OutputDir: t.TempDir(), Config: cfg,
			MaxSeqLength: 32, BatchSize: 2, LearningRate: 1e-3, WarmupSteps: 1, MaxSteps: 1, MLMProbability: 0.15,
			EvalEvery: 1, SaveEvery: 1, EvalBlocks: 1, Seed: 7, Log: io.Discard, LineByLine: tc.lineByLine, NextSentence: tc.nextSentence}
		err := Run(context.Background(), o)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s line_by_line=%v next_sentence=%v: err = %v, want %q", filepath.Base(tc.corpus), tc.lineByLine, tc.nextSentence, err, tc.err)
		}
	}
}

// TestPairSampler checks next-sentence pairs: label 0 pairs a line with
// the next one of its document, label 1 with a line of another document,
// about half of each, and the longer segment is cut to fit.
func TestPairSampler(t *testing.T) {
	const cls, sep = 1, 2
	// Three documents: lines 0-2, 3 (alone), 4-5. Line i holds tokens 10i+11….
	lengths := []int{3, 9, 2, 4, 1, 5}
	var lines [][]uint16
	for i, n := range lengths {
		l := []uint16{cls}
		for k := 1; k <= n; k++ {
			l = append(l, uint16(10*i+10+k))
		}
		lines = append(lines, append(l, sep))
	}
	p := newPairSampler(lines, []int{0, 3, 4}, 10)
	if got, want := p.anchors(), []int{0, 1, 4}; !slices.Equal(got, want) {
		t.Fatalf("anchors = %v, want %v", got, want)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := 0
	const trials = 2000
	for trial := 0; trial < trials; trial++ {
		a := p.anchors()[trial%3]
		seq, label := p.pair(nil, a, rng)
		if len(seq) > 10 || seq[0] != cls || seq[len(seq)-1] != sep {
			t.Fatalf("anchor %d: %v is not [CLS] A [SEP] B [SEP] within 10", a, seq)
		}
		at := slices.Index(seq, sep)
		segA, segB := seq[1:at], seq[at+1:len(seq)-1]
		if len(segA) == 0 || len(segB) == 0 || int(segA[0]) != 10*a+11 {
			t.Fatalf("anchor %d: segments %v %v", a, segA, segB)
		}
		b := int(segB[0])/10 - 1
		switch label {
		case 0:
			if b != a+1 {
				t.Fatalf("anchor %d labelled next, second segment is line %d", a, b)
			}
		case 1:
			random++
			if p.doc[b] == p.doc[a] {
				t.Fatalf("anchor %d labelled random, second segment is line %d of its own document", a, b)
			}
		}
		// Longest-first truncation: the longer segment is never shorter
		// than the other by more than one token when something was cut.
		if full := lengths[a] + lengths[b] + 3; full > 10 && len(seq) != 10 {
			t.Fatalf("anchor %d, line %d: cut to %d tokens, want 10", a, b, len(seq))
		}
		if la, lb := len(segA), len(segB); (la < lengths[a] && la < lb-1) || (lb < lengths[b] && lb < la-1) {
			t.Fatalf("anchor %d, line %d: segments of %d and %d are not cut longest first", a, b, la, lb)
		}
	}
	if frac := float64(random) / trials; frac < 0.45 || frac > 0.55 {
		t.Errorf("random second segments: %.3f of pairs, want 0.5", frac)
	}
}

// TestRunInitFrom starts a next-sentence run from a masked-LM model folder
// with a training log: the step count, tokens and curve carry on, the
// pooler and next-sentence classifier are initialised, the encoder is the
// folder's, and the schedule starts at the folder's step.
func TestRunInitFrom(t *testing.T) {
	tmp := t.TempDir()
	corpus := writeTestCorpus(t, tmp)
	first := testOptions(corpus, filepath.Join(tmp, "first"), 6)
	first.LineByLine = true
	if err := Run(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(first.OutputDir, "model")
	state, err := os.ReadFile(filepath.Join(first.OutputDir, "checkpoint-6", "trainer_state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, "training_log.json"), state, 0o644); err != nil {
		t.Fatal(err)
	}
	second := testOptions(corpus, filepath.Join(tmp, "second"), 9)
	second.NextSentence, second.InitFrom = true, folder
	second.Config.HiddenSize = 999 // ignored: the folder's config wins
	var log strings.Builder
	second.Log = &log
	if err := Run(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "initialised from") || !strings.Contains(log.String(), "cls.seq_relationship.weight") {
		t.Errorf("log does not say what was initialised:\n%s", log.String())
	}
	data, err := os.ReadFile(filepath.Join(second.OutputDir, "checkpoint-9", "trainer_state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	if st.Step != 9 || st.ScheduleStart != 6 || len(st.History) != 3 || st.History[0].Step != 3 || st.History[2].EvalNSPAcc == 0 {
		t.Errorf("state: step %d, schedule start %d, history %+v", st.Step, st.ScheduleStart, st.History)
	}
	// The schedule restarts at step 6 (warmup 1) and decays to 0 at step 9:
	// the last step's rate is the linear schedule's at its third step, not
	// that of a decay stretched over 9 steps from step 6.
	if lr, want := st.History[2].LR, second.LearningRate*optim.LinearWarmup(2, 1, 3); math.Abs(lr-want) > 1e-12 {
		t.Errorf("lr at step 9 = %g, want %g (the schedule from step 6 to 9)", lr, want)
	}
	weights, _, err := safetensors.ReadFile(filepath.Join(second.OutputDir, "model", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := weights["cls.seq_relationship.weight"]; !ok {
		t.Error("the next-sentence classifier is not in the saved model")
	}
	second.MaxSteps = 6
	second.OutputDir = filepath.Join(tmp, "third")
	if err := Run(context.Background(), second); err == nil || !strings.Contains(err.Error(), "at step 6 already") {
		t.Errorf("max_steps not beyond the folder's step: err = %v", err)
	}
}

// TestExport writes a masked-LM run and a next-sentence run as model
// folders: each keeps its pre-training heads under transformers' names and
// architecture, the card tabulates next-sentence accuracy only for the
// second, and fine-tuning from the second starts from its trained pooler.
func TestExport(t *testing.T) {
	tmp := t.TempDir()
	corpus := writeTestCorpus(t, tmp)
	for _, tc := range []struct {
		nextSentence bool
		arch         string
	}{{false, "BertForMaskedLM"}, {true, "BertForPreTraining"}} {
		t.Run(tc.arch, func(t *testing.T) {
			o := testOptions(corpus, filepath.Join(tmp, tc.arch), 3)
			o.LineByLine, o.NextSentence = true, tc.nextSentence
			if err := Run(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(tmp, tc.arch+"-folder")
			if err := Export(ExportOptions{Run: o.OutputDir, Output: out, TokenizerDir: o.TokenizerDir, DType: safetensors.F16,
				Name: "tiny", Corpus: "test", Command: "subtune pretrain"}); err != nil {
				t.Fatal(err)
			}
			cfg, err := os.ReadFile(filepath.Join(out, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(cfg), `"`+tc.arch+`"`) {
				t.Errorf("config.json does not name %s:\n%s", tc.arch, cfg)
			}
			weights, _, err := safetensors.ReadFile(filepath.Join(out, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			_, hasNSP := weights["cls.seq_relationship.weight"]
			_, hasPooler := weights["bert.pooler.dense.weight"]
			_, hasMLM := weights["cls.predictions.transform.dense.weight"]
			if hasNSP != tc.nextSentence || hasPooler != tc.nextSentence || !hasMLM {
				t.Errorf("exported heads: next-sentence %v, pooler %v, masked-LM %v", hasNSP, hasPooler, hasMLM)
			}
			card, err := os.ReadFile(filepath.Join(out, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(card), "next-sentence acc. %"); got != tc.nextSentence {
				t.Errorf("card has a next-sentence column: %v, want %v", got, tc.nextSentence)
			}
			_, rep, err := checkpoint.Load(out, model.SequenceClassification, checkpoint.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(rep.Missing, "bert.pooler.dense.weight"); got == tc.nextSentence {
				t.Errorf("fine-tuning initialises the pooler afresh: %v, want %v", got, !tc.nextSentence)
			}
		})
	}
}

// TestExportRefusesDamagedCheckpoint: a checkpoint whose weights changed
// since they were written is not exported, and the error names the file.
func TestExportRefusesDamagedCheckpoint(t *testing.T) {
	tmp := t.TempDir()
	o := testOptions(writeTestCorpus(t, tmp), filepath.Join(tmp, "run"), 2)
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	dir, _ := trainloop.LatestCheckpoint(o.OutputDir)
	weights := filepath.Join(dir, "model.safetensors")
	data, err := os.ReadFile(weights)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 1
	if err := os.WriteFile(weights, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "folder")
	err = Export(ExportOptions{Run: o.OutputDir, Output: out, TokenizerDir: o.TokenizerDir, DType: safetensors.F32, Name: "tiny"})
	if !errors.Is(err, trainloop.ErrDamaged) || !strings.Contains(err.Error(), weights) {
		t.Fatalf("Export of a damaged checkpoint: %v, want ErrDamaged naming %s", err, weights)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Export wrote %s anyway (%v)", out, err)
	}
}

// TestRunZeroSteps: --max_steps 0 saves the initialised model untrained, a
// random-initialisation baseline: the weights of model.New and Init with
// the run's seed.
func TestRunZeroSteps(t *testing.T) {
	tmp := t.TempDir()
	o := testOptions(writeTestCorpus(t, tmp), filepath.Join(tmp, "run"), 0)
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	saved, _, err := checkpoint.Load(filepath.Join(o.OutputDir, "model"), model.MaskedLM, checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := model.New(o.Config, model.MaskedLM)
	if err != nil {
		t.Fatal(err)
	}
	want.Init(o.Seed)
	if !slices.Equal(saved.Data, want.Data) {
		t.Error("the saved model is not the initialised one")
	}
}
