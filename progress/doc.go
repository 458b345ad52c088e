// Package progress reports the progress of long work: Reporter the steps
// of a training run (a live bar with step, loss, examples/s and ETA on a
// terminal, plain periodic log lines when the output is a file or a pipe:
// CI logs, nohup), Runs the runs of a reproduction with the time left, and
// Bytes a download.
package progress
