package main

import "github.com/subtune/subtune/internal/argcheck"

// checkThreads refuses a --threads that is not a number of threads, for
// the commands whose options live here rather than in a library package.
func checkThreads(n int) error {
	var e argcheck.Errors
	e.Int("--threads", n, argcheck.Threads)
	return e.Err()
}
