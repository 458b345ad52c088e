package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"
)

// defaultModel is the model subtune ships (see its model card).
const defaultModel = "models/subtune-bert-mini"

var rootCmd = &cobra.Command{
	Use:           "subtune",
	Short:         "Find a transformer's intrinsic task-specific subspace and fine-tune inside it",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := rootCmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "subtune:", err)
		os.Exit(1)
	}
}
