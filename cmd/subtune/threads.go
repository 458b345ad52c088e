package main

import (
	"runtime"

	"github.com/subtune/subtune/internal/argcheck"
	"github.com/subtune/subtune/nn"
)

// checkThreads refuses a --threads that is not a number of threads, for
// the commands whose options live here rather than in a library package.
func checkThreads(n int) error {
	var e argcheck.Errors
	e.Int("--threads", n, argcheck.Threads)
	return e.Err()
}

// setThreads holds the process to n cores (n <= 0: all of them): the
// engine's kernels and GEMMs through nn.SetThreads, and, since only the
// program may change it, GOMAXPROCS for the rest (tokenising, reading
// checkpoints). Every command with --threads calls it before its work.
func setThreads(n int) int {
	n = nn.SetThreads(n)
	runtime.GOMAXPROCS(n)
	return n
}
