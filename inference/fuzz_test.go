package inference

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/subtune/subtune/hfhub"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
)

// FuzzRunJSONL feeds arbitrary input to `subtune predict`'s reader, with a
// BERT classifier that has bert-base-uncased's tokenizer and a RoBERTa
// regressor that has none. Seeds are golden tokenizer inputs as text and
// as ids. Nothing may panic; an error names the line it concerns; success
// means one finite prediction per non-blank line, each what the input
// gets when predicted alone.
func FuzzRunJSONL(f *testing.F) {
	c := testmodel.Tiny(1)
	c.MaxPositionEmbeddings = 64
	c.SetLabels([]string{"neg", "pos", "neutral"})
	bertDir := testmodel.New(f, c, model.SequenceClassification, 5)
	robertaDir := tinyRoBERTa(f, []string{"score"})
	var preds []*Predictor
	for _, dir := range []string{bertDir, robertaDir} {
		p, _, err := Load(context.Background(), dir, hfhub.Options{}, Options{BatchSize: 3, MaxSeqLength: 24})
		if err != nil {
			f.Fatal(err)
		}
		preds = append(preds, p)
	}

	golden, err := os.ReadFile("../tokenizer/testdata/golden/bert-base-uncased.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	var texts, ids []string
	sc := bufio.NewScanner(bytes.NewReader(golden))
	sc.Buffer(nil, 1<<20)
	for i := 0; i < 6 && sc.Scan(); i++ {
		var g struct {
			Input         string  `json:"input"`
			IDs           []int32 `json:"ids"`
			TokenTypeIDs  []int32 `json:"token_type_ids"`
			AttentionMask []int32 `json:"attention_mask"`
		}
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			f.Fatal(err)
		}
		t, _ := json.Marshal(map[string]any{"text": g.Input, "text_pair": g.Input[:len(g.Input)/2]})
		texts = append(texts, string(t))
		for k := range g.IDs {
			g.IDs[k] %= 50 // the RoBERTa's vocabulary
		}
		n := min(len(g.IDs), 20)
		x, _ := json.Marshal(map[string]any{"input_ids": g.IDs[:n], "token_type_ids": g.TokenTypeIDs[:n], "attention_mask": g.AttentionMask[:n]})
		ids = append(ids, string(x))
	}
	f.Add([]byte(strings.Join(texts, "\n")+"\n"), false)
	f.Add([]byte(strings.Join(ids, "\n")+"\n\n"), false)
	f.Add([]byte(strings.Join(ids, "\r\n")), true)
	f.Add([]byte(`{"text": "a", "text_pair": null, "idx": 3}`+"\n"+`{"input_ids": [0, 7, 2, 1], "attention_mask": [1, 1, 1, 0]}`), true)

	lineRef := regexp.MustCompile(`^lines? (\d+)`)
	f.Fuzz(func(t *testing.T, data []byte, roberta bool) {
		p := preds[0]
		if roberta {
			p = preds[1]
		}
		lines := bytes.Split(data, []byte("\n"))
		var out bytes.Buffer
		n, err := p.RunJSONL(context.Background(), bytes.NewReader(data), &out)
		if err != nil {
			m := lineRef.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("error names no line: %v", err)
			}
			if k, _ := strconv.Atoi(m[1]); k < 1 || k > len(lines) {
				t.Fatalf("error names line %s of %d: %v", m[1], len(lines), err)
			}
			return
		}
		var inputs [][]byte
		for _, l := range lines {
			if len(bytes.TrimSpace(l)) > 0 {
				inputs = append(inputs, l)
			}
		}
		outLines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if n != len(inputs) || n > 0 && len(outLines) != n {
			t.Fatalf("%d predictions, %d output lines, for %d inputs", n, len(outLines), len(inputs))
		}
		for i := range min(n, 4) {
			var got Prediction
			if err := json.Unmarshal([]byte(outLines[i]), &got); err != nil {
				t.Fatalf("output line %d: %v", i+1, err)
			}
			checkPrediction(t, p, got)
			in, err := ParseLine(inputs[i])
			if err != nil {
				t.Fatalf("input %d was predicted but does not parse: %v", i+1, err)
			}
			alone, err := p.Predict(context.Background(), []Input{in})
			if err != nil {
				t.Fatalf("input %d: predicted in a batch but not alone: %v", i+1, err)
			}
			for k, v := range got.Logits {
				if d := math.Abs(float64(v - alone[0].Logits[k])); d > 1e-4*(1+math.Abs(float64(v))) {
					t.Fatalf("input %d logit %d: %v in a batch, %v alone", i+1, k, v, alone[0].Logits[k])
				}
			}
		}
	})
}

func checkPrediction(t *testing.T, p *Predictor, got Prediction) {
	t.Helper()
	c := p.Model.Config
	if len(got.Logits) != c.NumLabels() {
		t.Fatalf("%d logits for %d labels", len(got.Logits), c.NumLabels())
	}
	for _, v := range got.Logits {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("logit %v", v)
		}
	}
	if c.IsRegression() {
		if got.Score == nil || *got.Score != got.Logits[0] || got.Label != "" {
			t.Fatalf("regression output %+v", got)
		}
		return
	}
	best := slices.Index(got.Logits, slices.Max(got.Logits))
	if want := labelName(c, best); got.Label != want || got.Score != nil {
		t.Fatalf("label %q, want %q (%v)", got.Label, want, fmt.Sprint(got.Logits))
	}
}
