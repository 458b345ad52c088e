package main

import (
	"runtime"

	"github.com/subtune/subtune/nn"
)

// setThreads holds the process to n cores (n <= 0: all of them): the
// engine's kernels and GEMMs through nn.SetThreads, and, since only the
// program may change it, GOMAXPROCS for the rest (tokenising, reading
// checkpoints). Every command with --threads calls it before its work.
func setThreads(n int) int {
	n = nn.SetThreads(n)
	runtime.GOMAXPROCS(n)
	return n
}
