package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/pretrain"
	"github.com/subtune/subtune/safetensors"
)

func newPretrainCmd() *cobra.Command {
	var o pretrain.Options
	var corpusGlob, glueTrain, glueDataDir string
	var gluePairs bool
	var layers, hidden, heads, ffn, maxPos, threads int
	var src modelSource
	cmd := &cobra.Command{
		Use:   "pretrain",
		Short: "Pre-train a BERT with masked-LM (and next-sentence prediction) on a text corpus (as run_mlm.py)",
		Long: `Pre-trains a BERT from random initialisation with the masked-LM objective:
each corpus line is tokenised with [CLS]/[SEP], the stream is cut into blocks
of --max_seq_length, and every batch is masked afresh (15%: 80% [MASK], 10%
random, 10% unchanged). --next_sentence adds BERT's next-sentence prediction
on pairs of paragraphs. --model_name_or_path starts from a model folder
instead of random weights. Checkpoints go to --output_dir every --save_steps;
--resume continues from the newest one. The final model is written to
<output_dir>/model in HuggingFace layout.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkThreads(threads); err != nil {
				return err
			}
			c := model.DefaultConfig("bert")
			c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize = layers, hidden, heads, ffn
			c.MaxPositionEmbeddings = maxPos
			o.Config = c
			if err := o.Validate(); err != nil {
				return err
			}
			setThreads(threads)
			if glueTrain != "" && o.NextSentence {
				return fmt.Errorf("--next_sentence pairs consecutive paragraphs of running text, which --glue_train's sentences are not: drop one of them")
			}
			var err error
			if o.TokenizerDir, err = shippedDefault(cmd.Flags(), "tokenizer"); err != nil {
				return err
			}
			var files []string
			if corpusGlob != "" || glueTrain == "" { // --corpus "" --glue_train T: the tasks' train text alone
				if corpusGlob, err = shippedDefault(cmd.Flags(), "corpus"); err != nil {
					return err
				}
				if files, err = filepath.Glob(corpusGlob); err != nil {
					return err
				}
				if len(files) == 0 {
					return fmt.Errorf("--corpus %q matches no files", corpusGlob)
				}
			}
			sort.Strings(files)
			o.Corpus = files
			if glueTrain != "" {
				o.GLUETrain, o.GLUEDataDir, o.GLUEPairs = strings.Split(glueTrain, ","), glueDataDir, gluePairs
			}
			o.Log = cmd.ErrOrStderr()
			if o.TokenizerDir, err = src.resolveTokenizer(cmd.Context(), o.TokenizerDir, o.Log); err != nil {
				return err
			}
			if o.InitFrom != "" {
				if o.InitFrom, err = src.resolve(cmd.Context(), o.InitFrom, o.Log); err != nil {
					return err
				}
			}
			logKernels(o.Log)
			return pretrain.Run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&corpusGlob, "corpus", "../shared/corpus/*.txt", "glob of corpus text files (one paragraph per line); \"\" with --glue_train trains on the tasks' train text alone; the default is relative to the subtune repository above the working directory or the binary")
	f.StringVar(&glueTrain, "glue_train", "", "comma-separated GLUE tasks whose train sentences join the corpus (never dev or test)")
	f.BoolVar(&gluePairs, "glue_pairs", false, "with --glue_train: a pair task's two sentences share a line, \"A [SEP] B\", trained as a sentence pair (segment ids with --line_by_line)")
	f.StringVar(&glueDataDir, "glue_data_dir", "", "GLUE root for --glue_train (default: the files shipped with subtune)")
	f.StringVar(&o.TokenizerDir, "tokenizer", shippedTokenizer, "folder or hub model id with the WordPiece vocabulary; the default is the shipped one, looked up in the subtune repository above the working directory or the binary")
	f.StringVar(&o.OutputDir, "output_dir", "runs/pretrain", "where checkpoints and the final model go")
	f.IntVar(&layers, "num_hidden_layers", 4, "encoder layers")
	f.IntVar(&hidden, "hidden_size", 256, "hidden size")
	f.IntVar(&heads, "num_attention_heads", 4, "attention heads")
	f.IntVar(&ffn, "intermediate_size", 1024, "feed-forward size")
	f.IntVar(&maxPos, "max_position_embeddings", 512, "position embeddings")
	f.IntVar(&o.MaxSeqLength, "max_seq_length", 128, "block length in tokens")
	f.IntVar(&o.BatchSize, "per_device_train_batch_size", 64, "sequences per step")
	f.Float64Var(&o.LearningRate, "learning_rate", 5e-4, "peak learning rate")
	f.Float64Var(&o.WeightDecay, "weight_decay", 0.01, "AdamW weight decay")
	f.IntVar(&o.WarmupSteps, "warmup_steps", 300, "linear warmup steps")
	f.IntVar(&o.MaxSteps, "max_steps", 4000, "optimiser steps (0: save the initialised model, untrained: a random-initialisation baseline)")
	f.Float64Var(&o.MLMProbability, "mlm_probability", 0.15, "fraction of tokens masked")
	f.IntVar(&o.EvalEvery, "eval_steps", 200, "steps between held-out evaluations")
	f.IntVar(&o.SaveEvery, "save_steps", 100, "steps between checkpoints")
	f.IntVar(&o.EvalBlocks, "eval_blocks", 512, "held-out blocks")
	f.Uint64Var(&o.Seed, "seed", 42, "random seed")
	f.BoolVar(&o.LineByLine, "line_by_line", false, "one sequence per corpus line, padded (run_mlm --line_by_line), instead of concatenated blocks")
	f.BoolVar(&o.NextSentence, "next_sentence", false, "add BERT's next-sentence prediction: each sequence pairs a corpus line with the next one of its document or, half of the time, a random line of another (BertForPreTraining)")
	f.StringVar(&o.InitFrom, "model_name_or_path", "", "start from the weights of this model folder or hub model id (its config replaces the architecture flags; new optimiser; the schedule starts at its step)")
	f.BoolVar(&o.Resume, "resume", false, "continue from the newest checkpoint in --output_dir")
	f.BoolVar(&o.BF16, "bf16", false, "bf16 mixed precision, as torch.autocast on the CPU: GEMMs take bfloat16 inputs and accumulate in float32; weights, gradients and optimiser stay float32 (needs AVX512_BF16 and a build with oneDNN; may change on --resume)")
	src.addFlags(f)
	f.IntVar(&threads, "threads", 0, "threads (0: all cores); equal seeds and thread counts give bit-identical runs")
	cmd.AddCommand(newPretrainExportCmd())
	return graceful(cmd)
}

func newPretrainExportCmd() *cobra.Command {
	var o pretrain.ExportOptions
	var dtype, downstream, notes string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a pre-training run's newest checkpoint as a model folder with its model card",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.DType = safetensors.DType(strings.ToUpper(dtype))
			var err error
			if o.TokenizerDir, err = shippedDefault(cmd.Flags(), "tokenizer"); err != nil {
				return err
			}
			if downstream != "" {
				data, err := os.ReadFile(downstream)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(data, &o.Downstream); err != nil {
					return fmt.Errorf("%s: %w", downstream, err)
				}
			}
			if notes != "" {
				data, err := os.ReadFile(notes)
				if err != nil {
					return err
				}
				o.Notes = string(data)
			}
			if err := pretrain.Export(o); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", o.Output)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Run, "run", "runs/pretrain", "the pre-training output_dir")
	f.StringVar(&o.Output, "output", defaultModel, "model folder to write")
	f.StringVar(&o.TokenizerDir, "tokenizer", shippedTokenizer, "tokenizer folder to ship with the model; the default is looked up in the subtune repository above the working directory or the binary")
	f.StringVar(&dtype, "dtype", "f16", "weight storage: f32, f16 or bf16")
	f.StringVar(&o.Name, "name", "subtune-bert-mini", "model name for the card")
	f.StringVar(&o.Corpus, "corpus", "../shared/corpus (93.9 MB, 15.8 M words of English; see CORPUS_SOURCES.md)", "corpus description for the card")
	f.StringVar(&o.Command, "command", "", "the pre-training command, quoted in the card")
	f.StringVar(&notes, "notes", "", "Markdown file appended to the card after the downstream table")
	f.StringVar(&downstream, "downstream", "", "JSON list of {Model, Task, Metric, Dir, Command} fine-tuning runs to tabulate")
	return cmd
}
