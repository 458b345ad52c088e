// Package trainer fine-tunes a model on a GLUE task the way HuggingFace's
// run_glue.py and Trainer do, records its trajectory, and writes the
// Trainer's output layout. It also holds the resumable-checkpoint mechanics
// shared with pre-training.
package trainer
