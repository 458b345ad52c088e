package trainer

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/internal/argcheck"
)

// List is an argument that takes several values, as --report_to. In a JSON
// file of arguments it may be a list or a single string.
type List []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *List) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*l = List{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings, not %s", data)
	}
	*l = many
	return nil
}

// MarshalJSON writes the arguments as training_args.json, without the hub
// token: a token is a secret, not a setting of the run.
func (a Args) MarshalJSON() ([]byte, error) {
	type plain Args // without the method, to marshal the fields
	p := plain(a)
	p.Token = ""
	return json.Marshal(p)
}

// validateRunGlue checks the run_glue and TrainingArguments options that
// subtune accepts only in part, and fills in the best-model defaults as
// TrainingArguments.__post_init__ does.
func (a *Args) validateRunGlue(e *argcheck.Errors) {
	if a.FP16 {
		e.Addf("--fp16: subtune trains on the CPU, in float32; there is no fp16 on the CPU (leave --fp16 out)")
	}
	if a.BF16 {
		if err := blas.BF16Check(); err != nil {
			e.Addf("--bf16: %v", err)
		}
	}
	if !a.UseFastTokenizer {
		e.Addf("--use_fast_tokenizer false: subtune's tokenizers are the fast (tokenizers-library) ones; there is no slow tokenizer to fall back to")
	}
	for _, r := range a.ReportTo {
		if r != "none" && r != "all" {
			e.Addf("--report_to %s: subtune reports to no experiment tracker; the metrics are in the log, trainer_state.json and *_results.json (use --report_to none)", r)
		}
	}
	if len(a.ReportTo) > 1 && slices.Contains(a.ReportTo, "none") {
		e.Addf("--report_to %s: none cannot be combined with others", strings.Join(a.ReportTo, ","))
	}
	a.validateBestModel(e)
}

// validateBestModel applies TrainingArguments' rules for
// --load_best_model_at_end, --metric_for_best_model and --greater_is_better.
func (a *Args) validateBestModel(e *argcheck.Errors) {
	if a.LoadBestModelAtEnd {
		if a.EvalStrategy != a.SaveStrategy {
			e.Addf("--load_best_model_at_end requires the save and eval strategy to match, but found --eval_strategy %s and --save_strategy %s", a.EvalStrategy, a.SaveStrategy)
		} else if a.EvalStrategy == "steps" && a.EvalSteps > 0 && a.SaveSteps%a.EvalSteps != 0 {
			e.Addf("--load_best_model_at_end requires the saving steps to be a round multiple of the evaluation steps, but found --save_steps %d, which is not a round multiple of --eval_steps %d", a.SaveSteps, a.EvalSteps)
		}
		if a.DoTrain && !a.DoEval && a.EvalStrategy != "no" {
			e.Addf("--load_best_model_at_end needs an evaluation set to choose the best model by: give --do_eval")
		}
		if a.MetricForBestModel == "" {
			a.MetricForBestModel = "loss"
		}
	}
	if a.GreaterIsBetter == nil && a.MetricForBestModel != "" {
		greater := a.MetricForBestModel != "loss" && a.MetricForBestModel != "eval_loss"
		a.GreaterIsBetter = &greater
	}
}

// bestMetricKey is the key of the evaluation metrics the best model is
// chosen by, "eval_" prefixed as the Trainer does.
func (a *Args) bestMetricKey() string {
	if strings.HasPrefix(a.MetricForBestModel, "eval_") {
		return a.MetricForBestModel
	}
	return "eval_" + a.MetricForBestModel
}
