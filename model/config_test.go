package model

import (
	"encoding/json"
	"strings"
	"testing"
)

// tinyConfigJSON is a small BERT's config.json with edits applied: a key
// set to nil is removed.
func tinyConfigJSON(t testing.TB, edits map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"model_type": "bert", "vocab_size": 100, "hidden_size": 16, "num_hidden_layers": 2,
		"num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 64,
		"hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
		"type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
	}
	for k, v := range edits {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConfigRefused: every value of config.json is checked, and the error
// names the key and the value.
func TestConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]any
		want  string
	}{
		{"missing key", map[string]any{"hidden_size": nil}, "missing required keys: hidden_size"},
		{"unknown model type", map[string]any{"model_type": "gpt2"}, `model_type "gpt2" is not supported`},
		{"hidden size zero", map[string]any{"hidden_size": 0}, "hidden_size 0: want an integer ≥ 1"},
		{"hidden size negative", map[string]any{"hidden_size": -16}, "hidden_size -16: want an integer ≥ 1"},
		{"hidden size float", map[string]any{"hidden_size": 1e9 + 0.5}, `key "hidden_size"`},
		{"hidden size absurd", map[string]any{"hidden_size": 1_000_000_000, "num_attention_heads": 1},
			"the config describes 9e+18 parameters, more than the 1.13e+15 any machine holds; the largest part is the encoder: num_hidden_layers 2"},
		{"layers zero", map[string]any{"num_hidden_layers": 0}, "num_hidden_layers 0: want an integer ≥ 1"},
		{"heads zero", map[string]any{"num_attention_heads": 0}, "num_attention_heads 0: want an integer ≥ 1"},
		{"heads do not divide", map[string]any{"num_attention_heads": 3}, "hidden_size 16 is not a multiple of num_attention_heads 3"},
		{"intermediate zero", map[string]any{"intermediate_size": 0}, "intermediate_size 0: want an integer ≥ 1"},
		{"vocab zero", map[string]any{"vocab_size": 0}, "vocab_size 0: want an integer in [1, 2147483647]"},
		{"vocab beyond int32 ids", map[string]any{"vocab_size": 1_000_000_000_000}, "vocab_size 1000000000000: want an integer in [1, 2147483647]"},
		{"type vocab zero", map[string]any{"type_vocab_size": 0}, "type_vocab_size 0: want an integer in [1, 2147483647]"},
		{"positions zero", map[string]any{"max_position_embeddings": 0}, "max_position_embeddings 0: want an integer in [1, 2147483647]"},
		{"positions beyond int32", map[string]any{"max_position_embeddings": 1 << 40}, "max_position_embeddings 1099511627776"},
		{"roberta no position", map[string]any{"model_type": "roberta", "pad_token_id": 1, "max_position_embeddings": 2},
			"max_position_embeddings 2 leaves no position after RoBERTa's offset of pad_token_id+1 = 2"},
		{"layer norm eps negative", map[string]any{"layer_norm_eps": -1e-12}, "layer_norm_eps -1e-12: want a finite number > 0"},
		{"layer norm eps zero", map[string]any{"layer_norm_eps": 0}, "layer_norm_eps 0: want a finite number > 0"},
		{"layer norm eps overflow", map[string]any{"layer_norm_eps": json.Number("1e400")}, `key "layer_norm_eps"`},
		{"hidden dropout one", map[string]any{"hidden_dropout_prob": 1}, "hidden_dropout_prob 1: want a finite number in [0, 1)"},
		{"hidden dropout negative", map[string]any{"hidden_dropout_prob": -0.1}, "hidden_dropout_prob -0.1"},
		{"attention dropout", map[string]any{"attention_probs_dropout_prob": 1.5}, "attention_probs_dropout_prob 1.5: want a finite number in [0, 1)"},
		{"classifier dropout", map[string]any{"classifier_dropout": 1}, "classifier_dropout 1: want a finite number in [0, 1)"},
		{"initializer range", map[string]any{"initializer_range": -0.02}, "initializer_range -0.02: want a finite number ≥ 0"},
		{"activation", map[string]any{"hidden_act": "swish"}, `unsupported hidden_act "swish"`},
		{"pad beyond vocab", map[string]any{"pad_token_id": 100}, "pad_token_id 100 outside vocab_size 100"},
		{"pad negative", map[string]any{"pad_token_id": -1}, "pad_token_id -1 outside vocab_size 100"},
		{"labels with a gap", map[string]any{"id2label": map[string]string{"0": "a", "2": "b"}}, "id2label has 2 labels but no label 1: want the ids 0…1"},
		{"regression with two labels", map[string]any{"problem_type": "regression"}, `problem_type "regression" with 2 labels: the regression head has one output`},
		{"multi-label", map[string]any{"problem_type": "multi_label_classification"}, `problem_type "multi_label_classification" is not supported`},
		{"position type", map[string]any{"position_embedding_type": "relative_key"}, "position_embedding_type"},
	} {
		_, _, err := ParseConfig(tinyConfigJSON(t, tc.edits))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, _, err := ParseConfig(tinyConfigJSON(t, nil)); err != nil {
		t.Fatalf("the unedited config: %v", err)
	}
}
