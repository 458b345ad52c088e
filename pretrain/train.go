package pretrain

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/internal/argcheck"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/trainloop"
)

// Options configures a pre-training run. The JSON tags are the flag names
// of `subtune pretrain`; a resumed run must have the options it started
// with, except those tagged resume:"free" (trainloop.FlagSettings).
type Options struct {
	Corpus []string `json:"corpus"` // text files
	// GLUETrain names GLUE tasks whose train sentences join the corpus,
	// read from GLUEDataDir ("" for the shipped files) and written into
	// OutputDir by GLUETrainCorpus; with GLUEPairs a pair task's two
	// sentences share a line, joined by the tokenizer's separator.
	GLUETrain    []string     `json:"glue_train"`
	GLUEDataDir  string       `json:"glue_data_dir"`
	GLUEPairs    bool         `json:"glue_pairs"`
	TokenizerDir string       `json:"tokenizer"`
	OutputDir    string       `json:"output_dir" resume:"free"`
	Config       model.Config `json:"-"` // architecture; vocab_size and pad_token_id follow the tokenizer

	MaxSeqLength   int     `json:"max_seq_length"`              // block length, 128
	BatchSize      int     `json:"per_device_train_batch_size"` // sequences per step
	LearningRate   float64 `json:"learning_rate"`               // peak
	WeightDecay    float64 `json:"weight_decay"`
	WarmupSteps    int     `json:"warmup_steps"`
	MaxSteps       int     `json:"max_steps"`
	MLMProbability float64 `json:"mlm_probability"`
	EvalEvery      int     `json:"eval_steps" resume:"free"` // steps between held-out evaluations
	SaveEvery      int     `json:"save_steps" resume:"free"` // steps between checkpoints
	EvalBlocks     int     `json:"eval_blocks"`              // held-out blocks or lines (taken from the corpus, never trained on)
	// LineByLine trains on each corpus line as its own sequence, [CLS]
	// first and padded to the batch's longest, as run_mlm --line_by_line;
	// otherwise the lines are concatenated and cut into blocks
	// (group_texts). Lines start as fine-tuning inputs do, with [CLS] at
	// position 0, which blocks cut anywhere in the stream do not. A line
	// holding a separator before its end, [CLS] A [SEP] B [SEP], is a
	// sentence pair: B's tokens get token type 1 as in BERT's pre-training.
	LineByLine bool `json:"line_by_line"`
	// NextSentence adds BERT's next-sentence prediction: every sequence is
	// a pair of corpus lines (see pairSampler), the model is
	// BertForPreTraining and its pooler is trained too. Implies line-by-line
	// units: the pairs are padded to the batch's longest.
	NextSentence bool `json:"next_sentence"`
	// InitFrom, a model folder, starts the run from its weights instead of
	// random ones (run_mlm's --model_name_or_path): Config is then the
	// folder's, heads it lacks are initialised, the optimiser starts
	// afresh and the learning-rate schedule (warmup, linear decay to
	// MaxSteps) starts at the folder's step. A training_log.json in the
	// folder (written by Export) carries the step count, tokens, wall time
	// and learning curve on.
	InitFrom string `json:"model_name_or_path"`
	// BF16 trains in bf16 mixed precision (model.SetBF16). A run may
	// change it when it resumes: the weights and optimiser stay float32.
	BF16   bool      `json:"bf16" resume:"free"`
	Seed   uint64    `json:"seed"`
	Resume bool      `json:"resume" resume:"free"`
	Log    io.Writer `json:"-"`

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

// Validate checks the numbers of o, naming each by its flag, before any
// work. The architecture is the model package's to check.
func (o Options) Validate() error {
	var e argcheck.Errors
	e.Int("--max_seq_length", o.MaxSeqLength, argcheck.Positive)
	e.Int("--per_device_train_batch_size", o.BatchSize, argcheck.Positive)
	e.Float("--learning_rate", o.LearningRate, argcheck.LearningRate)
	e.Float("--weight_decay", o.WeightDecay, argcheck.NonNegative)
	e.WeightDecayStep(o.LearningRate, o.WeightDecay)
	e.Int("--warmup_steps", o.WarmupSteps, argcheck.NonNegative)
	e.Int("--max_steps", o.MaxSteps, argcheck.NonNegative.With("0: save the initialised model, untrained"))
	// Masking nothing leaves no loss; masking everything, nothing to read.
	e.Float("--mlm_probability", o.MLMProbability, argcheck.Range{Lo: 0, LoOpen: true, Hi: 1, HiOpen: true})
	e.Int("--eval_steps", o.EvalEvery, argcheck.Positive)
	e.Int("--save_steps", o.SaveEvery, argcheck.Positive)
	e.Int("--eval_blocks", o.EvalBlocks, argcheck.NonNegative.With("0: no evaluation"))
	if o.BF16 {
		if err := blas.BF16Check(); err != nil {
			e.Addf("--bf16: %v", err)
		}
	}
	return e.Err()
}

// settings are what the weights of this run depend on: its options but
// those tagged resume:"free", the architecture flags, and the size of the
// tokenised corpus.
func (o *Options) settings(corpusTokens int) trainloop.Settings {
	s := trainloop.FlagSettings(o)
	c := o.Config
	for name, v := range map[string]int{"num_hidden_layers": c.NumHiddenLayers, "hidden_size": c.HiddenSize,
		"num_attention_heads": c.NumAttentionHeads, "intermediate_size": c.IntermediateSize, "max_position_embeddings": c.MaxPositionEmbeddings} {
		s["--"+name] = strconv.Itoa(v)
	}
	s["corpus tokens"] = strconv.Itoa(corpusTokens)
	return s
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
