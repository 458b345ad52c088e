package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/subtune/subtune/checkpoint"
)

func newConvertCmd() *cobra.Command {
	var outputDir string
	var src modelSource
	cmd := &cobra.Command{
		Use:   "convert MODEL --output_dir OUT",
		Short: "Convert a PyTorch checkpoint (pytorch_model.bin) into a safetensors model folder",
		Long: `Reads the PyTorch weights of the model folder MODEL — pytorch_model.bin,
in either torch.save format, or the shards named by
pytorch_model.bin.index.json — and writes OUT/model.safetensors, with
config.json and the tokenizer files copied beside it, so that OUT is an
ordinary HuggingFace model folder. Every tensor keeps its name, dtype
(float32, float16, bfloat16, int64) and shape.

The pickle inside a .bin file is read without running it: only the names a
state dict needs are accepted, and a file naming anything else (os.system,
say) is refused, naming it. Other commands read pytorch_model.bin folders
directly as well; converting once makes loading faster and the folder
safe to share.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outputDir == "" {
				return fmt.Errorf("--output_dir is required")
			}
			ctx := cmd.Context()
			dir, err := src.resolve(ctx, args[0], cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			res, err := checkpoint.Convert(ctx, dir, outputDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d tensors, %.2f MB, sha256 %s\ncopied %s\n",
				res.Weights, res.Tensors, float64(res.Bytes)/1e6, res.SHA256, strings.Join(res.Copied, ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&outputDir, "output_dir", "", "folder to write model.safetensors, config.json and the tokenizer files into")
	src.addFlags(cmd.Flags())
	return cmd
}
