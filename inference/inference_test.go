package inference

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/hfhub"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
)

// tinyRoBERTa saves a small random RoBERTa classifier with no tokenizer:
// id inputs only, padded with the config's pad_token_id (1). It is not
// testmodel.Tiny: the tests need RoBERTa's position ids (pad + 1 onwards)
// and a vocabulary small enough to draw ids from.
func tinyRoBERTa(t testing.TB, labels []string) string {
	t.Helper()
	c := model.DefaultConfig("roberta")
	c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 50, 8, 2, 2, 16
	c.MaxPositionEmbeddings = 34 // 32 usable positions
	c.InitializerRange = 0.5
	c.SetLabels(labels)
	m, err := model.New(c, model.SequenceClassification)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	dir := t.TempDir()
	if err := checkpoint.Save(dir, m, ""); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPredictRoBERTaIDs(t *testing.T) {
	dir := tinyRoBERTa(t, []string{"a", "b"})
	p, rep, err := Load(context.Background(), dir, hfhub.Options{}, Options{BatchSize: 2, MaxSeqLength: 128})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 0 || p.Tokenizer != nil || p.PadID != 1 {
		t.Fatalf("warnings %v tokenizer %v pad %d", rep.Warnings, p.Tokenizer, p.PadID)
	}
	inputs := []Input{
		{InputIDs: []int32{0, 5, 6, 2}},
		{InputIDs: []int32{0, 7, 2}},
		{InputIDs: []int32{0, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 2}}, // grows the workspace
		{InputIDs: []int32{0, 7, 2, 1}, AttentionMask: []int32{1, 1, 1, 0}},
	}
	got, err := p.Predict(context.Background(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d predictions", len(got))
	}
	// Each alone, unpadded, agrees; the explicitly padded copy of input 1
	// agrees with input 1.
	for i, in := range inputs {
		alone, err := p.Predict(context.Background(), []Input{in})
		if err != nil {
			t.Fatal(err)
		}
		for k := range got[i].Logits {
			if d := math.Abs(float64(got[i].Logits[k] - alone[0].Logits[k])); d > 1e-5 {
				t.Errorf("input %d logit %d: %v in a batch, %v alone", i, k, got[i].Logits[k], alone[0].Logits[k])
			}
			if d := math.Abs(float64(got[3].Logits[k] - got[1].Logits[k])); d > 1e-5 {
				t.Errorf("padding changed logit %d: %v vs %v", k, got[3].Logits[k], got[1].Logits[k])
			}
		}
		if got[i].Label != "a" && got[i].Label != "b" || got[i].Score != nil {
			t.Errorf("input %d: %+v", i, got[i])
		}
	}
	// RoBERTa's usable positions are max_position_embeddings - pad - 1.
	long := make([]int32, 33)
	if _, err := p.Predict(context.Background(), []Input{{InputIDs: long}}); err == nil || !strings.Contains(err.Error(), "32 positions") {
		t.Errorf("33 ids: %v", err)
	}
	// Text needs a tokenizer, and the error says why there is none.
	if _, err := p.Predict(context.Background(), []Input{{Text: "hi", HasText: true}}); err == nil || !strings.Contains(err.Error(), "tokenizer") {
		t.Errorf("text without tokenizer: %v", err)
	}
}

func TestNewRejectsOtherHeads(t *testing.T) {
	m := testmodel.Model(t, testmodel.Tiny(1), model.MaskedLM, 1)
	if _, err := New(m, nil, Options{}); err == nil {
		t.Error("New accepted a masked-LM model")
	}
}

func TestParseLine(t *testing.T) {
	for _, c := range []struct {
		line string
		want Input
		err  string
	}{
		{`{"text": "a", "text_pair": null, "idx": 3}`, Input{Text: "a", HasText: true}, ""},
		{`{"text": "", "text_pair": "b"}`, Input{Text: "", TextPair: "b", HasText: true, HasPair: true}, ""},
		{` {"input_ids": [1, 2], "attention_mask": [1, 0]} `, Input{InputIDs: []int32{1, 2}, AttentionMask: []int32{1, 0}}, ""},
		{`{"input_ids": []}`, Input{InputIDs: []int32{}}, ""},
		{`{"input_ids": null}`, Input{}, `want "input_ids" or "text"`},
		{`{"input_ids": [1, 2147483648]}`, Input{}, `"input_ids"`},
		{`{"text": 5}`, Input{}, `"text"`},
		{`"text"`, Input{}, "JSON object"},
		{`{"text": "a"} x`, Input{}, "invalid JSON"},
	} {
		got, err := ParseLine([]byte(c.line))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseLine(%s): %v, want error with %q", c.line, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseLine(%s): %v", c.line, err)
			continue
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(c.want)
		if !bytes.Equal(g, w) {
			t.Errorf("ParseLine(%s) = %s, want %s", c.line, g, w)
		}
	}
}

func TestRunJSONLCancelled(t *testing.T) {
	dir := tinyRoBERTa(t, []string{"x"})
	p, _, err := Load(context.Background(), dir, hfhub.Options{}, Options{BatchSize: 1, MaxSeqLength: 128})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	n, err := p.RunJSONL(ctx, strings.NewReader(`{"input_ids": [0, 2]}`+"\n"+`{"input_ids": [0, 2]}`), &out)
	if err != context.Canceled || n != 0 {
		t.Errorf("n %d err %v, want 0 and context.Canceled", n, err)
	}
	// Not cancelled: a regressor's score.
	n, err = p.RunJSONL(context.Background(), strings.NewReader(`{"input_ids": [0, 2]}`), &out)
	if err != nil || n != 1 || !strings.Contains(out.String(), `"score":`) {
		t.Errorf("n %d err %v out %q", n, err, out.String())
	}
}
