// Package progress reports the progress of a long run: a live bar with
// step, loss, examples/s and ETA on a terminal, and plain periodic log lines
// when the output is a file or a pipe (CI logs, nohup).
package progress
