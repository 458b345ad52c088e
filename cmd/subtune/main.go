package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"
)

// Shipped files, relative to the repository root (see shippedDefault).
const (
	defaultModel     = "models/subtune-bert-mini" // see its model card
	shippedTokenizer = "tokenizer/testdata/bert-base-uncased"
)

// exitStatus is the exit status after a stopping signal: 128 + its number,
// what a shell reports for a process the signal ended (130 after Ctrl-C,
// 143 after SIGTERM).
func exitStatus(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
}

// gracefulKey annotates the commands that stop cleanly when their context
// is cancelled (saving a checkpoint, discarding a partial output); Ctrl-C
// ends any other command at once.
const gracefulKey = "subtune-graceful-interrupt"

// describeStop says what sig did ("interrupted" by Ctrl-C, or
// "terminated") and how a user sends it again.
func describeStop(sig os.Signal) (did, again string) {
	if sig == syscall.SIGTERM {
		return "terminated", "SIGTERM"
	}
	return "interrupted", "Ctrl-C"
}

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
// after an error, 128 + the signal's number after Ctrl-C (SIGINT) or
// SIGTERM, which Slurm sends at a job's time limit and scancel sends by
// default. The first signal cancels the context of a command that stops
// cleanly (the trainer saves a checkpoint); a second one, or the first
// during any other command, exits at once.
func execute(root *cobra.Command) int {
	// running is the command being executed, once cobra has chosen it.
	var running atomic.Pointer[cobra.Command]
	root.PersistentPreRun = func(cmd *cobra.Command, args []string) {
		running.Store(cmd)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stopping atomic.Value // the first stopping signal
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for sig := range sigs {
			first := stopping.CompareAndSwap(nil, sig)
			cmd := running.Load()
			did, again := describeStop(sig)
			if !first || cmd == nil || cmd.Annotations[gracefulKey] == "" {
				fmt.Fprintf(os.Stderr, "subtune: %s\n", did)
				os.Exit(exitStatus(sig))
			}
			fmt.Fprintf(os.Stderr, "subtune: %s: stopping cleanly (%s again quits at once)\n", did, again)
			cancel()
		}
	}()
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "subtune:", err)
	}
	switch sig, _ := stopping.Load().(os.Signal); {
	case sig != nil:
		return exitStatus(sig)
	case err != nil:
		return 1
	}
	return 0
}
