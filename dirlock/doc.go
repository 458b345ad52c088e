// Package dirlock holds an output folder for one run at a time.
//
// A run that owns a folder (its checkpoints, trajectory, results) takes an
// exclusive advisory lock, flock(2), on the file .subtune.lock inside it and
// keeps it until it ends. The lock belongs to the open file, so the kernel
// drops it however the process ends, kill -9 included: a stale lock file
// never blocks the next run. The holder's pid is written into the file, so a
// refused run can say which process holds the folder.
//
// Acquire also checks that the folder can be written, so that a run finds
// out at its start, not at its first checkpoint.
package dirlock
