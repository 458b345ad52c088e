package main

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/inference"
)

func init() { rootCmd.AddCommand(newPredictCmd()) }

func newPredictCmd() *cobra.Command {
	var modelPath, input, output string
	var o inference.Options
	var threads int
	cmd := &cobra.Command{
		Use:   "predict",
		Short: "Run a sequence-classification model over JSON lines",
		Long: `Runs a BERT or RoBERTa sequence classifier over the JSON lines of --input.
The model is a HuggingFace model folder, or a hub model id (name or
org/name, optionally @revision) fetched into the HuggingFace cache as
transformers does (HF_ENDPOINT, HF_TOKEN, HF_HOME and HF_HUB_OFFLINE apply).
Each input line is either

  {"input_ids": [...], "token_type_ids": [...], "attention_mask": [...]}

(token_type_ids and attention_mask optional, ids used as given) or

  {"text": "...", "text_pair": "..."}

(text_pair optional), tokenised with the model folder's tokenizer and
truncated to --max_seq_length. Batches are padded to their longest input.
--output gets one JSON line per input, in order: {"logits": [...],
"label": "..."} for a classifier (label = id2label of the arg-max), or
{"logits": [x], "score": x} for a regressor. "-" means stdin or stdout.
An --output file is written only when every line succeeded.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if threads > 0 {
				runtime.GOMAXPROCS(threads)
			}
			blas.SetThreads(threads)
			ctx := cmd.Context()
			stderr := cmd.ErrOrStderr()
			fmt.Fprintf(stderr, "kernels: %s\n", blas.Describe())
			logKernels(stderr)
			p, rep, err := inference.Load(ctx, modelPath, checkpoint.HubOptions{Progress: stderr}, o)
			if err != nil {
				return err
			}
			fmt.Fprint(stderr, rep.String())

			var in io.Reader = cmd.InOrStdin()
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
	f.StringVar(&modelPath, "model_name_or_path", "", "model folder (config.json, model.safetensors, tokenizer files) or hub model id")
	f.StringVar(&input, "input", "-", `JSON lines to predict ("-": stdin)`)
	f.StringVar(&output, "output", "-", `where the predictions go ("-": stdout)`)
	f.IntVar(&o.BatchSize, "batch_size", 32, "inputs per batch")
	f.IntVar(&o.MaxSeqLength, "max_seq_length", 128, "tokens per text input after truncation, special tokens included")
	f.IntVar(&threads, "threads", 0, "CPU threads for GEMM and element-wise kernels (0: all cores)")
	_ = cmd.MarkFlagRequired("model_name_or_path")
	return cmd
}
