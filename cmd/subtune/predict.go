package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/inference"
)

func newPredictCmd() *cobra.Command {
	var input, output string
	o := inference.DefaultOptions()
	var threads int
	var src adapterSource
	cmd := &cobra.Command{
		Use:   "predict",
		Short: "Run a sequence-classification model over JSON lines",
		Long: `Runs a BERT or RoBERTa sequence classifier over the JSON lines of --input.
The model is a HuggingFace model folder, or a hub model id (name or
org/name, optionally @revision) fetched into the HuggingFace cache as
transformers does (HF_ENDPOINT, HF_TOKEN, HF_HOME and HF_HUB_OFFLINE apply),
or --adapter, a subspace run's adapter, applied in memory to its base model
(the adapter's base_model_name_or_path unless --model_name_or_path is
given), as 'subtune merge' would without writing the merged folder.
Each input line is either

  {"input_ids": [...], "token_type_ids": [...], "attention_mask": [...]}

(token_type_ids and attention_mask optional, ids used as given) or

  {"text": "...", "text_pair": "..."}

(text_pair optional), tokenised with the model folder's tokenizer and
truncated to --max_seq_length. Text that is not valid UTF-8 (raw bytes or a
lone surrogate escape) is an error naming the line and byte column. Batches are padded to their longest input.
--output gets one JSON line per input, in order: {"logits": [...],
"label": "..."} for a classifier (label = id2label of the arg-max), or
{"logits": [x], "score": x} for a regressor. "-" means stdin or stdout.
An --output file is written only when every line succeeded.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkThreads(threads); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			setThreads(threads)
			ctx := cmd.Context()
			stderr := cmd.ErrOrStderr()
			logKernels(stderr)
			p, rep, err := src.predictor(ctx, o, stderr)
			if err != nil {
				return err
			}
			fmt.Fprint(stderr, rep.String())

			var in io.Reader = interruptible(ctx, cmd.InOrStdin())
			inName := "stdin"
			if input != "-" {
				f, err := os.Open(input)
				if err != nil {
					return err
				}
				defer f.Close()
				in, inName = f, input
			}
			var out io.Writer = cmd.OutOrStdout()
			var pending *atomicfile.Pending
			if output != "-" {
				if pending, err = atomicfile.Create(output); err != nil {
					return err
				}
				defer pending.Abort() // no-op once committed
				out = pending
			}
			n, err := p.RunJSONL(ctx, in, out)
			if err != nil {
				return fmt.Errorf("%s: %w", inName, err)
			}
			if pending != nil {
				if err := pending.Commit(); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "wrote %d prediction(s) to %s\n", n, output)
			}
			return nil
		},
	}
	f := cmd.Flags()
	src.addFlags(f, modelNameHelp+"; with --adapter, its base model (default: the adapter's)")
	f.StringVar(&input, "input", "-", `JSON lines to predict ("-": stdin)`)
	f.StringVar(&output, "output", "-", `where the predictions go ("-": stdout)`)
	f.IntVar(&o.BatchSize, "batch_size", o.BatchSize, "inputs per batch")
	f.BoolVar(&o.BF16, "bf16", false, "bf16 mixed precision, as torch.autocast on the CPU: GEMMs take bfloat16 inputs and accumulate in float32 (needs AVX512_BF16 and a build with oneDNN)")
	f.IntVar(&o.MaxSeqLength, "max_seq_length", o.MaxSeqLength, "tokens per text input after truncation, special tokens included (capped, with a warning, at the model's positions)")
	f.IntVar(&threads, "threads", 0, "CPU threads for GEMM and element-wise kernels (0: all cores)")
	return graceful(cmd)
}

// predictor loads the model to predict with: a model folder or hub id, or
// an adapter applied to its base in memory (--adapter).
func (s *adapterSource) predictor(ctx context.Context, o inference.Options, log io.Writer) (*inference.Predictor, checkpoint.Report, error) {
	if s.adapterDir == "" {
		switch {
		case s.base == "":
			return nil, checkpoint.Report{}, errors.New("--model_name_or_path is required (or --adapter)")
		case s.basis != "":
			return nil, checkpoint.Report{}, errors.New("--basis needs --adapter")
		}
		dir, err := s.models.resolve(ctx, s.base, log)
		if err != nil {
			return nil, checkpoint.Report{}, err
		}
		return inference.Load(ctx, dir, s.models.options(log), o)
	}
	if err := o.Validate(); err != nil {
		return nil, checkpoint.Report{}, err
	}
	m, a, err := s.load(ctx, log, inference.CheckpointOptions(o))
	if err != nil {
		return nil, checkpoint.Report{}, err
	}
	return inference.Open(m, checkpoint.Report{}, tokenizerDir(s.adapterDir, a.baseDir), o)
}
