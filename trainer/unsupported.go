package trainer

import "fmt"

// UnsupportedArg is an option of run_glue.py (its ModelArguments and
// DataTrainingArguments) or of TrainingArguments that subtune does not
// implement. It is refused with its reason, never as an unknown flag, and
// accepted only with the value that asks for what subtune does anyway.
type UnsupportedArg struct {
	Name     string
	Bool     bool   // a boolean option: --name alone means true
	Harmless string // the value subtune's behaviour already has ("false" for a boolean); "" none
	Reason   string
}

// Check refuses any value but the harmless one; the caller names the
// option and the value.
func (u UnsupportedArg) Check(value string) error {
	if u.Harmless != "" {
		if u.Bool {
			b, err := ParseBool(value)
			if err != nil {
				return err
			}
			h, _ := ParseBool(u.Harmless)
			if b == h {
				return nil
			}
		} else if value == u.Harmless {
			return nil
		}
	}
	return fmt.Errorf("not supported: %s", u.Reason)
}

const (
	whyCPU      = "subtune trains on the CPU, in one process, in float32"
	whyNoHub    = "subtune uploads nothing to the hub"
	whyNoLogger = "subtune reports to no experiment tracker; the metrics are in the log, trainer_state.json and *_results.json"
)

// UnsupportedArgs are the run_glue and TrainingArguments options subtune
// does not implement.
var UnsupportedArgs = []UnsupportedArg{
	{Name: "config_name", Reason: "the model's own config.json is used"},
	{Name: "dataset_name", Reason: "there is no datasets-hub download; use --task_name (GLUE, shipped or under --data_dir) or --train_file"},
	{Name: "dataset_config_name", Reason: "there is no datasets-hub download; use --task_name or --train_file"},
	{Name: "trust_remote_code", Bool: true, Harmless: "false", Reason: "no remote code is run; BERT and RoBERTa are built in"},
	{Name: "ignore_mismatched_sizes", Bool: true, Harmless: "false", Reason: "a classification head of another shape is not replaced"},
	{Name: "push_to_hub", Bool: true, Harmless: "false", Reason: whyNoHub},
	{Name: "hub_model_id", Reason: whyNoHub},
	{Name: "hub_strategy", Reason: whyNoHub},
	{Name: "hub_token", Reason: whyNoHub + "; a token for downloads is --token"},
	{Name: "hub_private_repo", Bool: true, Harmless: "false", Reason: whyNoHub},
	{Name: "run_name", Reason: whyNoLogger},
	{Name: "logging_dir", Reason: whyNoLogger + " (no TensorBoard event files)"},
	{Name: "logging_first_step", Bool: true, Harmless: "false", Reason: "the first logged loss is that of --logging_steps"},
	{Name: "disable_tqdm", Bool: true, Harmless: "false", Reason: "the progress line is subtune's own"},
	{Name: "no_cuda", Bool: true, Harmless: "true", Reason: whyCPU},
	{Name: "use_cpu", Bool: true, Harmless: "true", Reason: whyCPU},
	{Name: "fp16_opt_level", Reason: whyCPU},
	{Name: "half_precision_backend", Reason: whyCPU},
	{Name: "fp16_full_eval", Bool: true, Harmless: "false", Reason: whyCPU},
	{Name: "bf16_full_eval", Bool: true, Harmless: "false", Reason: whyCPU},
	{Name: "tf32", Reason: whyCPU},
	{Name: "local_rank", Harmless: "-1", Reason: whyCPU},
	{Name: "deepspeed", Reason: whyCPU},
	{Name: "fsdp", Reason: whyCPU},
	{Name: "ddp_backend", Reason: whyCPU},
	{Name: "torch_compile", Bool: true, Harmless: "false", Reason: "there is no torch to compile; the kernels are subtune's own"},
	{Name: "gradient_checkpointing", Bool: true, Harmless: "false", Reason: "activations are kept for the backward pass, not recomputed"},
	{Name: "auto_find_batch_size", Bool: true, Harmless: "false", Reason: "the batch size is checked against memory before any allocation, not searched"},
	{Name: "optim", Harmless: "adamw_torch", Reason: "the optimiser is torch's AdamW (adamw_torch)"},
	{Name: "adafactor", Bool: true, Harmless: "false", Reason: "the optimiser is torch's AdamW (adamw_torch)"},
	{Name: "lr_scheduler_kwargs", Harmless: "{}", Reason: "the schedules use get_scheduler's default parameters"},
	{Name: "label_smoothing_factor", Harmless: "0", Reason: "the loss is plain cross-entropy"},
	{Name: "data_seed", Reason: "the data order follows --seed"},
	{Name: "full_determinism", Bool: true, Harmless: "true", Reason: "runs are always deterministic for a seed and a thread count"},
	{Name: "dataloader_num_workers", Harmless: "0", Reason: "the data is tokenised in memory before training"},
	{Name: "eval_accumulation_steps", Reason: "evaluation keeps only the predictions, never the logits of the whole set"},
	{Name: "eval_delay", Harmless: "0", Reason: "evaluation follows --eval_strategy from the first step"},
	{Name: "save_only_model", Bool: true, Harmless: "false", Reason: "checkpoints always hold what --resume needs"},
	{Name: "save_safetensors", Bool: true, Harmless: "true", Reason: "models are always written as safetensors"},
	{Name: "remove_unused_columns", Bool: true, Harmless: "true", Reason: "only the model's inputs are ever kept"},
	{Name: "include_inputs_for_metrics", Bool: true, Harmless: "false", Reason: "the GLUE metrics need only predictions and labels"},
	{Name: "prediction_loss_only", Bool: true, Harmless: "false", Reason: "evaluation always computes the task's metrics"},
	{Name: "label_names", Reason: "the label column is the task's (or the file's label column)"},
	{Name: "push_to_hub_model_id", Reason: whyNoHub},
	{Name: "evaluate_during_training", Reason: "use --eval_strategy steps or epoch"},
}

// unsupportedArg looks an option up in UnsupportedArgs.
func unsupportedArg(name string) (UnsupportedArg, bool) {
	for _, u := range UnsupportedArgs {
		if u.Name == name {
			return u, true
		}
	}
	return UnsupportedArg{}, false
}
