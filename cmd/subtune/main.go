package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"

	"github.com/spf13/cobra"
)

// Shipped files, relative to the repository root (see shippedDefault).
const (
	defaultModel     = "models/subtune-bert-mini" // see its model card
	shippedTokenizer = "tokenizer/testdata/bert-base-uncased"
)

// exitInterrupted is the exit status after Ctrl-C: 128 + SIGINT, what a
// shell reports for a process the signal ended.
const exitInterrupted = 130

// gracefulKey annotates the commands that stop cleanly when their context
// is cancelled (saving a checkpoint, discarding a partial output); Ctrl-C
// ends any other command at once.
const gracefulKey = "subtune-graceful-interrupt"

// graceful marks cmd as stopping cleanly on Ctrl-C and returns it.
func graceful(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[gracefulKey] = "yes"
	return cmd
}

// newRootCmd builds the command tree of subtune: every command owns its
// options, so each tree starts from the defaults.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "subtune",
		Short:         "Find a transformer's intrinsic task-specific subspace and fine-tune inside it",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newConvertCmd(),
		newExtractCmd(),
		newFinetuneCmd(),
		newMergeCmd(),
		newOutliersCmd(),
		newPredictCmd(),
		newPretrainCmd(),
		newReproduceCmd(),
		newTokenizeCmd(),
	)
	return root
}

func main() { os.Exit(execute(newRootCmd())) }

// execute runs root on the command line and returns the exit status: 0, 1
// after an error, 130 after Ctrl-C. The first Ctrl-C cancels the context of
// a command that stops cleanly; a second one, or the first during any other
// command, exits at once.
func execute(root *cobra.Command) int {
	// running is the command being executed, once cobra has chosen it.
	var running atomic.Pointer[cobra.Command]
	root.PersistentPreRun = func(cmd *cobra.Command, args []string) {
		running.Store(cmd)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var interrupted atomic.Bool
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	go func() {
		for range sigs {
			cmd := running.Load()
			if interrupted.Swap(true) || cmd == nil || cmd.Annotations[gracefulKey] == "" {
				fmt.Fprintln(os.Stderr, "subtune: interrupted")
				os.Exit(exitInterrupted)
			}
			fmt.Fprintln(os.Stderr, "subtune: interrupted: stopping cleanly (Ctrl-C again quits at once)")
			cancel()
		}
	}()
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "subtune:", err)
	}
	switch {
	case interrupted.Load():
		return exitInterrupted
	case err != nil:
		return 1
	}
	return 0
}
