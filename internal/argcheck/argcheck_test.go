package argcheck

import (
	"math"
	"testing"
)

func TestMessages(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(e *Errors)
		want  string // "" when the value is allowed
	}{
		{"nan", func(e *Errors) { e.Float("--learning_rate", math.NaN(), LearningRate) }, "--learning_rate NaN: want a finite number in (0, 10]"},
		{"inf", func(e *Errors) { e.Float("--num_train_epochs", math.Inf(1), Positive) }, "--num_train_epochs +Inf: want a finite number > 0"},
		{"-inf", func(e *Errors) { e.Float("--weight_decay", math.Inf(-1), NonNegative) }, "--weight_decay -Inf: want a finite number ≥ 0"},
		{"absurd", func(e *Errors) { e.Float("--learning_rate", 1e10, LearningRate) }, "--learning_rate 1e+10: want a finite number in (0, 10]"},
		{"zero", func(e *Errors) { e.Float("--adam_epsilon", 0, Positive) }, "--adam_epsilon 0: want a finite number > 0"},
		{"beta 1", func(e *Errors) { e.Float("--adam_beta2", 1, Probability) }, "--adam_beta2 1: want a finite number in [0, 1)"},
		{"int positive", func(e *Errors) { e.Int("--ensemble", 0, Positive) }, "--ensemble 0: want an integer ≥ 1"},
		{"int note", func(e *Errors) { e.Int("--max_train_samples", -5, NonNegative.With("0: all")) }, "--max_train_samples -5: want an integer ≥ 0 (0: all)"},
		{"int open hi", func(e *Errors) { e.Int("k", 4, Range{Lo: 0, Hi: 4, HiOpen: true}) }, "k 4: want an integer in [0, 3]"},
		{"ok float", func(e *Errors) { e.Float("--learning_rate", 10, LearningRate) }, ""},
		{"ok fraction", func(e *Errors) { e.Float("--warmup_ratio", 1, Fraction) }, ""},
		{"ok threads", func(e *Errors) { e.Int("--threads", 0, Threads) }, ""},
	} {
		var e Errors
		tc.check(&e)
		got := ""
		if err := e.Err(); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
