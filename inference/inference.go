package inference

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/hfhub"
	"github.com/subtune/subtune/internal/argcheck"
	"github.com/subtune/subtune/internal/utf8line"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/tokenizer"
)

// Options tunes a Predictor.
type Options struct {
	// BatchSize is the number of inputs run together.
	BatchSize int
	// MaxSeqLength truncates tokenised text (special tokens included); a
	// length beyond the model's positions is capped with a warning. Id
	// inputs are used as given, up to the model's limit.
	MaxSeqLength int
	// BF16 runs the model in bf16 mixed precision (model.SetBF16).
	BF16 bool
}

// DefaultOptions are predict's defaults: batches of 32, texts truncated to
// run_glue's 128 tokens.
func DefaultOptions() Options {
	return Options{BatchSize: 32, MaxSeqLength: tokenizer.DefaultMaxSeqLength}
}

// Validate refuses sizes that are not positive, naming their flags.
func (o Options) Validate() error {
	var e argcheck.Errors
	e.Int("--batch_size", o.BatchSize, argcheck.Positive)
	e.Int("--max_seq_length", o.MaxSeqLength, argcheck.Positive)
	if o.BF16 {
		if err := blas.BF16Check(); err != nil {
			e.Addf("--bf16: %v", err)
		}
	}
	return e.Err()
}

// Input is one example: ids (InputIDs set) or text (HasText set).
type Input struct {
	InputIDs      []int32
	TokenTypeIDs  []int32 // nil means all zeros
	AttentionMask []int32 // nil means all ones

	Text, TextPair   string
	HasText, HasPair bool
}

// Prediction is the model's output for one input.
type Prediction struct {
	Logits []float32 `json:"logits"`
	// Label is id2label of the arg-max of the logits (classification).
	Label string `json:"label,omitempty"`
	// Score is the single output of a regressor.
	Score *float32 `json:"score,omitempty"`
}

// Predictor runs a sequence-classification model on inputs.
type Predictor struct {
	Model *model.Model
	// Tokenizer encodes text inputs; nil when there is none, and then
	// TokenizerErr says why text inputs cannot be used.
	Tokenizer    *tokenizer.Tokenizer
	TokenizerErr error
	// PadID fills the padding of a batch.
	PadID int32

	opts       Options
	maxLen     int    // the model's position limit
	textLen    int    // MaxSeqLength capped at the model's and the tokenizer's limits
	capWarning string // says so when it was capped
	ws         *model.Workspace
	wsB        int
	wsT        int
}

// New returns a Predictor for m, whose head must be
// model.SequenceClassification. tok may be nil if only id inputs are used;
// the pad id is then the config's pad_token_id.
func New(m *model.Model, tok *tokenizer.Tokenizer, opts Options) (*Predictor, error) {
	if m.Head != model.SequenceClassification {
		return nil, fmt.Errorf("inference: model has a %s head, want %s", m.Head, model.SequenceClassification)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := m.SetBF16(opts.BF16); err != nil {
		return nil, fmt.Errorf("--bf16: %w", err)
	}
	maxLen := m.Config.PositionLimit()
	p := &Predictor{Model: m, Tokenizer: tok, PadID: int32(m.Config.PadTokenID), opts: opts, maxLen: maxLen}
	if tok != nil {
		p.PadID = tok.PadID()
		p.textLen, p.capWarning = tokenizer.CapLength(opts.MaxSeqLength, maxLen, tok.MaxLength())
	} else {
		p.TokenizerErr = errors.New("no tokenizer was given")
	}
	return p, nil
}

// Load resolves nameOrPath (a model folder or a hub model id, see
// hfhub.Resolve), loads its classifier with dropout off and, if
// the folder has one, its tokenizer. A missing or unreadable tokenizer is
// not an error until a text input needs it.
func Load(ctx context.Context, nameOrPath string, hub hfhub.Options, opts Options) (*Predictor, checkpoint.Report, error) {
	if err := opts.Validate(); err != nil {
		return nil, checkpoint.Report{}, err
	}
	dir, err := hfhub.Resolve(ctx, nameOrPath, hub)
	if err != nil {
		return nil, checkpoint.Report{}, err
	}
	m, rep, err := checkpoint.Load(dir, model.SequenceClassification, CheckpointOptions(opts))
	if err != nil {
		return nil, rep, err
	}
	return Open(m, rep, dir, opts)
}

// CheckpointOptions are the options Load reads a model with: dropout off,
// memory checked for opts' batches.
func CheckpointOptions(opts Options) checkpoint.Options {
	return checkpoint.Options{
		Usage: model.Usage{Batch: opts.BatchSize, SeqLen: opts.MaxSeqLength, BF16: opts.BF16},
		// Dropout is off in evaluation anyway; with it zero the workspace
		// needs no separate dropped-out attention buffers.
		ConfigOverride: func(c *model.Config) {
			zero := 0.0
			c.HiddenDropoutProb, c.AttentionDropoutProb, c.ClassifierDropout = 0, 0, &zero
		},
	}
}

// Open returns a Predictor for m, loaded with CheckpointOptions, and the
// tokenizer in tokDir if it holds one; rep gains the predictor's warnings.
func Open(m *model.Model, rep checkpoint.Report, tokDir string, opts Options) (*Predictor, checkpoint.Report, error) {
	tok, tokErr := tokenizer.Load(tokDir)
	p, err := New(m, tok, opts)
	if err != nil {
		return nil, rep, err
	}
	if tokErr != nil {
		p.TokenizerErr = tokErr
	}
	if p.capWarning != "" {
		rep.Warnings = append(rep.Warnings, p.capWarning)
	}
	return p, rep, nil
}

// Encode turns an input into the ids the model reads, checking them.
func (p *Predictor) Encode(in Input) (tokenizer.Encoding, error) {
	c := p.Model.Config
	if in.HasText {
		if in.InputIDs != nil || in.TokenTypeIDs != nil || in.AttentionMask != nil {
			return tokenizer.Encoding{}, errors.New(`give either "text" or "input_ids", not both`)
		}
		if p.Tokenizer == nil {
			return tokenizer.Encoding{}, fmt.Errorf("text input needs the model folder's tokenizer: %v", p.TokenizerErr)
		}
		enc := p.Tokenizer.Encode(in.Text, in.TextPair, in.HasPair, p.textLen)
		for i, id := range enc.InputIDs {
			if id < 0 || int(id) >= c.VocabSize {
				return enc, fmt.Errorf("token %d (%q) has id %d, outside the model's vocab_size %d", i, p.Tokenizer.Token(id), id, c.VocabSize)
			}
		}
		return enc, nil
	}
	if in.HasPair {
		return tokenizer.Encoding{}, errors.New(`"text_pair" without "text"`)
	}
	n := len(in.InputIDs)
	if n == 0 {
		return tokenizer.Encoding{}, errors.New(`want non-empty "input_ids" or a "text"`)
	}
	if n > p.maxLen {
		return tokenizer.Encoding{}, fmt.Errorf("%d input_ids, more than the model's %d positions", n, p.maxLen)
	}
	enc := tokenizer.Encoding{InputIDs: in.InputIDs, TokenTypeIDs: in.TokenTypeIDs, AttentionMask: in.AttentionMask}
	for i, id := range in.InputIDs {
		if id < 0 || int(id) >= c.VocabSize {
			return enc, fmt.Errorf("input_ids[%d] = %d is outside the vocabulary [0, %d)", i, id, c.VocabSize)
		}
	}
	if enc.TokenTypeIDs == nil {
		enc.TokenTypeIDs = make([]int32, n)
	} else if len(enc.TokenTypeIDs) != n {
		return enc, fmt.Errorf("%d token_type_ids for %d input_ids", len(enc.TokenTypeIDs), n)
	}
	for i, tt := range enc.TokenTypeIDs {
		if tt < 0 || int(tt) >= c.TypeVocabSize {
			return enc, fmt.Errorf("token_type_ids[%d] = %d is outside [0, %d) (type_vocab_size)", i, tt, c.TypeVocabSize)
		}
	}
	if enc.AttentionMask == nil {
		enc.AttentionMask = make([]int32, n)
		for i := range enc.AttentionMask {
			enc.AttentionMask[i] = 1
		}
	} else if len(enc.AttentionMask) != n {
		return enc, fmt.Errorf("%d attention_mask values for %d input_ids", len(enc.AttentionMask), n)
	}
	attended := false
	for i, v := range enc.AttentionMask {
		if v != 0 && v != 1 {
			return enc, fmt.Errorf("attention_mask[%d] = %d, want 0 or 1", i, v)
		}
		attended = attended || v == 1
	}
	if !attended {
		// Every attention row would then be a softmax over nothing, 0/0.
		return enc, errors.New("attention_mask is all 0: the model needs at least one token to attend to (1 marks a real token, 0 padding)")
	}
	return enc, nil
}

// Predict encodes and runs inputs, BatchSize at a time.
func (p *Predictor) Predict(ctx context.Context, inputs []Input) ([]Prediction, error) {
	out := make([]Prediction, 0, len(inputs))
	encs := make([]tokenizer.Encoding, 0, p.opts.BatchSize)
	for i, in := range inputs {
		enc, err := p.Encode(in)
		if err != nil {
			return nil, fmt.Errorf("input %d: %w", i, err)
		}
		encs = append(encs, enc)
		if len(encs) == p.opts.BatchSize || i == len(inputs)-1 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			preds, err := p.PredictEncoded(encs)
			if err != nil {
				return nil, err
			}
			out = append(out, preds...)
			encs = encs[:0]
		}
	}
	return out, nil
}

// PredictEncoded runs encoded inputs as one batch padded to the longest.
func (p *Predictor) PredictEncoded(encs []tokenizer.Encoding) ([]Prediction, error) {
	if len(encs) == 0 {
		return nil, nil
	}
	tb := tokenizer.PadBatch(encs, p.PadID)
	b := &model.Batch{InputIDs: tb.InputIDs, TokenTypeIDs: tb.TokenTypeIDs, AttentionMask: tb.AttentionMask, B: tb.Batch, T: tb.SeqLen}
	if b.B > p.wsB || b.T > p.wsT {
		// Grow the workspace to what this batch needs (rounding the length
		// up, so lengths creeping up one by one do not reallocate each time).
		p.wsB = max(p.wsB, b.B, p.opts.BatchSize)
		p.wsT = max(p.wsT, min((b.T+15)/16*16, p.maxLen))
		p.ws = p.Model.NewWorkspace(p.wsB, p.wsT, 0)
	}
	if _, err := p.Model.Forward(p.ws, b, model.Pass{}); err != nil {
		return nil, err
	}
	c := p.Model.Config
	nl := c.NumLabels()
	out := make([]Prediction, b.B)
	for s := range out {
		logits := append([]float32(nil), p.ws.Logits[s*nl:(s+1)*nl]...)
		out[s].Logits = logits
		if c.IsRegression() && nl == 1 {
			score := logits[0]
			out[s].Score = &score
			continue
		}
		out[s].Label = labelName(c, model.Argmax(logits))
	}
	return out, nil
}

// labelName is id2label[id], or transformers' default "LABEL_<id>".
func labelName(c model.Config, id int) string {
	if name, ok := c.ID2Label[id]; ok {
		return name
	}
	return "LABEL_" + strconv.Itoa(id)
}

// inputLine is the JSON of one input line; pointers tell absent from empty.
type inputLine struct {
	InputIDs      *[]int32 `json:"input_ids"`
	TokenTypeIDs  *[]int32 `json:"token_type_ids"`
	AttentionMask *[]int32 `json:"attention_mask"`
	Text          *string  `json:"text"`
	TextPair      *string  `json:"text_pair"`
}

// ParseLine parses one JSON input line: {"input_ids": [...],
// "token_type_ids": [...], "attention_mask": [...]} or {"text": "...",
// "text_pair": "..."}. Other keys are ignored; null counts as absent. Text
// that is not valid UTF-8 is refused (utf8line), not replaced.
func ParseLine(line []byte) (Input, error) {
	line = bytes.TrimRight(line, "\r\n")
	if err := utf8line.CheckJSON(line); err != nil {
		return Input{}, err
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return Input{}, errors.New("want a JSON object")
	}
	var l inputLine
	if err := json.Unmarshal(line, &l); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Input{}, fmt.Errorf("%q: JSON %s is not a valid %s", te.Field, te.Value, te.Type)
		}
		return Input{}, fmt.Errorf("invalid JSON: %v", err)
	}
	var in Input
	if l.InputIDs != nil {
		in.InputIDs = *l.InputIDs
		if in.InputIDs == nil {
			in.InputIDs = []int32{}
		}
	}
	if l.TokenTypeIDs != nil {
		in.TokenTypeIDs = *l.TokenTypeIDs
	}
	if l.AttentionMask != nil {
		in.AttentionMask = *l.AttentionMask
	}
	if l.Text != nil {
		in.Text, in.HasText = *l.Text, true
	}
	if l.TextPair != nil {
		in.TextPair, in.HasPair = *l.TextPair, true
	}
	if !in.HasText && in.InputIDs == nil {
		return Input{}, errors.New(`want "input_ids" or "text"`)
	}
	return in, nil
}

// RunJSONL reads JSON input lines from r, predicts them in batches and
// writes one JSON line per input to w, in input order. Blank lines are
// skipped. An error names the (1-based) line it concerns; what was written
// before it stays written. It returns the number of predictions written.
func (p *Predictor) RunJSONL(ctx context.Context, r io.Reader, w io.Writer) (int, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	bw := bufio.NewWriterSize(w, 1<<16)
	encs := make([]tokenizer.Encoding, 0, p.opts.BatchSize)
	lines := make([]int, 0, p.opts.BatchSize)
	written := 0
	flush := func() error {
		if len(encs) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		preds, err := p.PredictEncoded(encs)
		if err != nil {
			return fmt.Errorf("lines %d-%d: %w", lines[0], lines[len(lines)-1], err)
		}
		for i, pr := range preds {
			for _, v := range pr.Logits {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return fmt.Errorf("line %d: the model output %v", lines[i], v)
				}
			}
			b, err := json.Marshal(pr)
			if err != nil {
				return fmt.Errorf("line %d: %w", lines[i], err)
			}
			bw.Write(b)
			if err := bw.WriteByte('\n'); err != nil {
				return err
			}
			written++
		}
		encs, lines = encs[:0], lines[:0]
		return nil
	}
	for lineNo := 1; ; lineNo++ {
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return written, fmt.Errorf("line %d: %w", lineNo, rerr)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			in, err := ParseLine(line)
			if err == nil {
				var enc tokenizer.Encoding
				if enc, err = p.Encode(in); err == nil {
					encs = append(encs, enc)
					lines = append(lines, lineNo)
				}
			}
			if err != nil {
				return written, fmt.Errorf("line %d: %w", lineNo, err)
			}
			if len(encs) == p.opts.BatchSize {
				if err := flush(); err != nil {
					return written, err
				}
			}
		}
		if rerr == io.EOF {
			break
		}
	}
	if err := flush(); err != nil {
		return written, err
	}
	return written, bw.Flush()
}
