package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/tokenizer"
)

// tinyBERT saves a small random BERT with bert-base-uncased's real
// vocabulary (30522 tokens, hidden size 16) and tokenizer into a folder.
func tinyBERT(t *testing.T, labels []string, withTokenizer bool) string {
	t.Helper()
	c := testmodel.Tiny(2)
	c.MaxPositionEmbeddings = 64 // the "too long" input has 65 ids
	c.SetLabels(labels)
	c.InitializerRange = 0.5 // large weights, so that different inputs get different labels
	m := testmodel.Model(t, c, model.SequenceClassification, 11)
	// Non-zero biases and LayerNorm parameters other than 0 and 1.
	for i := range m.Data {
		m.Data[i] += float32(math.Sin(float64(i))) * 0.05
	}
	if withTokenizer {
		return testmodel.Dir(t, m)
	}
	dir := t.TempDir()
	if err := checkpoint.Save(dir, m, ""); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runPredict runs `subtune predict` with args (through the root command, as
// the binary does) and stdin, returning stdout and stderr.
func runPredict(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := newPredictCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

type outLine struct {
	Logits []float32 `json:"logits"`
	Label  *string   `json:"label"`
	Score  *float32  `json:"score"`
}

func parseOut(t *testing.T, s string) []outLine {
	t.Helper()
	var out []outLine
	for i, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		var o outLine
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("output line %d %q: %v", i+1, line, err)
		}
		out = append(out, o)
	}
	return out
}

var predictInputs = []string{
	`{"text": "The movie was great, I loved it!"}`,
	`{"input_ids": [101, 7592, 2088, 102], "token_type_ids": [0, 0, 0, 0], "attention_mask": [1, 1, 1, 1]}`,
	``, // blank lines are skipped
	`{"text": "a man is playing a guitar.", "text_pair": "someone plays music on a guitar , loudly and for a long time", "id": 7}`,
	`{"input_ids": [101, 2023, 2003, 1037, 2936, 6251, 2007, 2062, 19204, 2015, 102]}`,
	`{"text": "Short."}`,
	`{"input_ids": [101, 2009, 102, 0, 0], "attention_mask": [1, 1, 1, 0, 0], "label": 1}`,
	`{"text": "` + strings.Repeat("very ", 200) + `long", "text_pair": null}`,
}

// direct computes what predict must output: the same inputs encoded with
// the folder's tokenizer, padded per batch, through model.Forward.
func direct(t *testing.T, dir string, batchSize, maxLen int) (*model.Model, [][]float32, [][]float32) {
	t.Helper()
	m, _, err := checkpoint.Load(dir, model.SequenceClassification, checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var encs []tokenizer.Encoding
	for _, line := range predictInputs {
		if line == "" {
			continue
		}
		var in struct {
			InputIDs      []int32 `json:"input_ids"`
			TokenTypeIDs  []int32 `json:"token_type_ids"`
			AttentionMask []int32 `json:"attention_mask"`
			Text          *string `json:"text"`
			TextPair      *string `json:"text_pair"`
		}
		if err := json.Unmarshal([]byte(line), &in); err != nil {
			t.Fatal(err)
		}
		if in.Text != nil {
			pair := ""
			if in.TextPair != nil {
				pair = *in.TextPair
			}
			encs = append(encs, tok.Encode(*in.Text, pair, in.TextPair != nil, maxLen))
			continue
		}
		e := tokenizer.Encoding{InputIDs: in.InputIDs, TokenTypeIDs: in.TokenTypeIDs, AttentionMask: in.AttentionMask}
		if e.TokenTypeIDs == nil {
			e.TokenTypeIDs = make([]int32, len(e.InputIDs))
		}
		if e.AttentionMask == nil {
			e.AttentionMask = make([]int32, len(e.InputIDs))
			for i := range e.AttentionMask {
				e.AttentionMask[i] = 1
			}
		}
		encs = append(encs, e)
	}
	nl := m.Config.NumLabels()
	var batched, alone [][]float32
	for lo := 0; lo < len(encs); lo += batchSize {
		pb := tokenizer.PadBatch(encs[lo:min(lo+batchSize, len(encs))], tok.PadID())
		b := &model.Batch{InputIDs: pb.InputIDs, TokenTypeIDs: pb.TokenTypeIDs, AttentionMask: pb.AttentionMask, B: pb.Batch, T: pb.SeqLen}
		ws := m.NewWorkspace(b.B, b.T, 0)
		if _, err := m.Forward(ws, b, model.Pass{}); err != nil {
			t.Fatal(err)
		}
		for s := 0; s < b.B; s++ {
			batched = append(batched, append([]float32(nil), ws.Logits[s*nl:(s+1)*nl]...))
		}
	}
	// Each input on its own, unpadded.
	for _, e := range encs {
		b := &model.Batch{InputIDs: e.InputIDs, TokenTypeIDs: e.TokenTypeIDs, AttentionMask: e.AttentionMask, B: 1, T: len(e.InputIDs)}
		ws := m.NewWorkspace(1, b.T, 0)
		if _, err := m.Forward(ws, b, model.Pass{}); err != nil {
			t.Fatal(err)
		}
		alone = append(alone, append([]float32(nil), ws.Logits[:nl]...))
	}
	return m, batched, alone
}

func TestPredictMatchesForward(t *testing.T) {
	dir := tinyBERT(t, []string{"negative", "neutral", "positive"}, true)
	input := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(input, []byte(strings.Join(predictInputs, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	output := filepath.Join(t.TempDir(), "out.jsonl")
	const batchSize, maxLen = 3, 24
	_, stderr, err := runPredict(t, "", "--model_name_or_path", dir, "--input", input, "--output", output,
		"--batch_size", "3", "--max_seq_length", "24", "--threads", "2")
	if err != nil {
		t.Fatalf("predict: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "wrote 7 prediction(s) to "+output) {
		t.Errorf("stderr %q", stderr)
	}
	b, err := os.ReadFile(output)
	if err != nil {
		t.Fatal(err)
	}
	got := parseOut(t, string(b))
	m, want, alone := direct(t, dir, batchSize, maxLen)
	if len(got) != len(want) {
		t.Fatalf("%d output lines, want %d", len(got), len(want))
	}
	labels := map[string]bool{}
	for i := range want {
		o := got[i]
		if len(o.Logits) != 3 {
			t.Fatalf("line %d: %d logits", i+1, len(o.Logits))
		}
		for k := range want[i] {
			// JSON carries float32 exactly: the bits must match.
			if math.Float32bits(o.Logits[k]) != math.Float32bits(want[i][k]) {
				t.Errorf("input %d logit %d = %v, model.Forward gives %v", i, k, o.Logits[k], want[i][k])
			}
			if d := math.Abs(float64(o.Logits[k] - alone[i][k])); d > 1e-5 {
				t.Errorf("input %d logit %d = %v padded in its batch, %v alone", i, k, o.Logits[k], alone[i][k])
			}
		}
		best := 0
		for k, v := range o.Logits {
			if v > o.Logits[best] {
				best = k
			}
		}
		if o.Label == nil || *o.Label != m.Config.ID2Label[best] || o.Score != nil {
			t.Errorf("input %d: label %v score %v, want label %q", i, o.Label, o.Score, m.Config.ID2Label[best])
		}
		if o.Label != nil {
			labels[*o.Label] = true
		}
	}
	t.Logf("labels predicted: %v", labels)
}

func TestPredictStdioAndRegression(t *testing.T) {
	dir := tinyBERT(t, []string{"similarity"}, true) // one label: regression
	stdin := `{"text": "a cat"}` + "\n" + `{"input_ids": [101, 4937, 102]}`
	stdout, _, err := runPredict(t, stdin, "--model_name_or_path", dir, "--input", "-", "--output", "-")
	if err != nil {
		t.Fatal(err)
	}
	got := parseOut(t, stdout)
	if len(got) != 2 {
		t.Fatalf("stdout %q", stdout)
	}
	for i, o := range got {
		if len(o.Logits) != 1 || o.Score == nil || *o.Score != o.Logits[0] || o.Label != nil {
			t.Errorf("line %d: %+v, want one logit and the same score", i+1, o)
		}
	}
	// "a cat" tokenises to [CLS] a cat [SEP] = 101 1037 4937 102; the ids
	// line differs, so do the scores.
	if *got[0].Score == *got[1].Score {
		t.Errorf("different inputs gave the same score %v", *got[0].Score)
	}
}

func TestPredictBadInput(t *testing.T) {
	dir := tinyBERT(t, []string{"no", "yes"}, true)
	noTok := tinyBERT(t, []string{"no", "yes"}, false)
	good := `{"input_ids": [101, 102]}`
	for _, c := range []struct {
		name, model, input string
		want               []string
	}{
		{"bad JSON", dir, good + "\n" + good + "\n{\"text\": \"unterminated\n", []string{"line 3", "invalid JSON"}},
		{"not an object", dir, "[1, 2]", []string{"line 1", "JSON object"}},
		{"neither form", dir, good + "\n\n" + `{"label": 1}`, []string{"line 3", `"input_ids" or "text"`}},
		{"id outside vocab", dir, `{"input_ids": [101, 30522, 102]}`, []string{"line 1", "input_ids[1] = 30522", "30522"}},
		{"negative id", dir, good + "\n" + `{"input_ids": [101, -1]}`, []string{"line 2", "input_ids[1] = -1"}},
		{"float id", dir, `{"input_ids": [101, 1.5]}`, []string{"line 1", "input_ids", "1.5"}},
		{"ragged types", dir, `{"input_ids": [101, 102], "token_type_ids": [0]}`, []string{"line 1", "1 token_type_ids for 2 input_ids"}},
		{"bad type id", dir, `{"input_ids": [101, 102], "token_type_ids": [0, 2]}`, []string{"line 1", "token_type_ids[1] = 2"}},
		{"bad mask", dir, `{"input_ids": [101, 102], "attention_mask": [1, 7]}`, []string{"line 1", "attention_mask[1] = 7"}},
		{"invalid UTF-8", dir, good + "\n" + "{\"text\": \"h\xffi\"}", []string{"line 2", "invalid UTF-8: byte 0xff at column 12"}},
		{"lone surrogate", dir, `{"text": "a \udc00"}`, []string{"line 1", `invalid UTF-8: the escape \udc00 at column 13 is half of a UTF-16 surrogate pair`}},
		{"all-zero mask", dir, good + "\n" + `{"input_ids": [101, 7592, 102], "attention_mask": [0, 0, 0]}`, []string{"line 2", "attention_mask is all 0: the model needs at least one token to attend to"}},
		{"too long", dir, `{"input_ids": [` + strings.Repeat("1, ", 64) + `1]}`, []string{"line 1", "65 input_ids", "64 positions"}},
		{"both forms", dir, `{"text": "x", "input_ids": [101]}`, []string{"line 1", "not both"}},
		{"pair alone", dir, `{"text_pair": "x", "input_ids": [101]}`, []string{"line 1", "text_pair"}},
		{"no tokenizer", noTok, good + "\n" + `{"text": "hello"}`, []string{"line 2", "tokenizer"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			input := filepath.Join(t.TempDir(), "in.jsonl")
			if err := os.WriteFile(input, []byte(c.input), 0o644); err != nil {
				t.Fatal(err)
			}
			output := filepath.Join(t.TempDir(), "out.jsonl")
			_, _, err := runPredict(t, "", "--model_name_or_path", c.model, "--input", input, "--output", output)
			if err == nil {
				t.Fatal("predict succeeded")
			}
			for _, w := range append(c.want, input) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if _, serr := os.Stat(output); serr == nil {
				t.Error("an output file was left after the error")
			}
			t.Log(err)
		})
	}

	// Id inputs need no tokenizer.
	if _, _, err := runPredict(t, good, "--model_name_or_path", noTok); err != nil {
		t.Errorf("ids without a tokenizer: %v", err)
	}
	// A missing model folder says so.
	_, _, err := runPredict(t, good, "--model_name_or_path", filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing folder: %v", err)
	}
	_, _, err = runPredict(t, good)
	if err == nil || !strings.Contains(err.Error(), "model_name_or_path") {
		t.Errorf("no model flag: %v", err)
	}
}

// TestPredictCapsMaxSeqLength: a --max_seq_length beyond the model's
// positions is used capped, with a warning naming the cap.
func TestPredictCapsMaxSeqLength(t *testing.T) {
	dir := tinyBERT(t, []string{"no", "yes"}, true) // 64 positions
	long := `{"text": "` + strings.Repeat("word ", 100) + `"}`
	stdout, stderr, err := runPredict(t, long, "--model_name_or_path", dir, "--max_seq_length", "1000")
	if err != nil {
		t.Fatal(err)
	}
	want := "warning: the max_seq_length passed (1000) is larger than the maximum length for the model (64). Using max_seq_length=64."
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr does not say %q:\n%s", want, stderr)
	}
	if len(parseOut(t, stdout)) != 1 {
		t.Errorf("output: %s", stdout)
	}
	if _, stderr, _ := runPredict(t, long, "--model_name_or_path", dir, "--max_seq_length", "64"); strings.Contains(stderr, "max_seq_length passed") {
		t.Errorf("warned at the limit itself:\n%s", stderr)
	}
}

func TestPredictIsRegistered(t *testing.T) {
	for _, c := range newRootCmd().Commands() {
		if c.Name() == "predict" {
			return
		}
	}
	t.Fatal("predict is not a subcommand of subtune")
}
