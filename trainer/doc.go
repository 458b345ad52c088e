// Package trainer fine-tunes a model on a GLUE task the way HuggingFace's
// run_glue.py and Trainer do, records its trajectory, and writes the
// Trainer's output layout. The training loop, its optimiser step and the
// resumable checkpoints are package trainloop's, shared with pre-training.
//
// # Layers
//
// Finetune is run_glue.py: Args (run_glue's argument names) in, an output
// directory in the Trainer's layout out. Underneath it:
//
//   - the training type is fine-tuning as a trainloop.Task: it feeds the
//     shuffled training set in micro-batches, keeps the Trainer's state and
//     log history, evaluates during training, records the trajectory and
//     says when a checkpoint is due; trainloop.Run takes the steps
//     (trainloop.Loop: forward with dropout, backward, average, clip to the
//     global norm, AdamW with the linear warmup/decay factor of the step).
//   - ParamHook changes what trainloop.Loop and Finetune train (the subspace
//     re-parameterisation, the Freeze baseline, the ablation's mask of
//     disabled positions): which model tensors stay trainable in full
//     space, its own optimiser groups, and the per-step hooks
//     BeforeForward (materialise θ) and AfterBackward (project the
//     gradient). Hooks.NewParamHook builds it once the model is loaded.
//   - Dataset and the batcher tokenise a split once and assemble padded
//     batches into buffers allocated once; the workspace is allocated once
//     for the largest batch, so a training step allocates nothing of its
//     own.
//
// # Agreement with HuggingFace
//
// The first five steps from tiny-bert match PyTorch's AdamW, schedule and
// clipping to 1e-6 in loss (testdata/adamw_golden.py). The run follows the
// Trainer in: the parameter groups; warmup steps = --warmup_steps or
// ceil(warmup_ratio × total); the schedule factor at step s used by step
// s+1 (the first step has learning rate 0); max_steps =
// ceil(epochs × steps per epoch); the logged "loss" (mean since the last
// log, 4 decimals) and "learning_rate" (the next step's); evaluation on the
// first dev set during training (MNLI: matched) and on all of them at the
// end, mismatched keys suffixed "_mm" (epoch_mm included, as run_glue does);
// eval_loss as the mean over examples; train_samples_per_second as
// samples × epochs / runtime; group_by_length as LengthGroupedSampler; and
// the file names and keys of train_results.json, eval_results.json,
// all_results.json, trainer_state.json and predict_results_<task>.txt.
//
// Deliberate differences, each for a stated reason:
//
//   - Batches are padded to their longest sequence (DataCollatorWithPadding),
//     which is faster on CPU; run_glue pads to max_seq_length unless told
//     otherwise. --pad_to_max_length restores that. Padding changes only
//     speed and, through the dropout masks' positions, the random stream.
//   - The data order is a permutation drawn from (seed, epoch) with Go's
//     PCG, not torch.randperm: the same seed gives another order than
//     PyTorch's, but a resumed run recomputes its order without saved
//     random state. Dropout masks likewise depend only on (seed, index of
//     the micro-batch in the run).
//   - With gradient accumulation an epoch ends with a step over its
//     remaining micro-batches (recent transformers), so an epoch has
//     ceil(batches / accumulation) steps.
//   - --eval_strategy defaults to "epoch" (HF: "no"): the paper's runs
//     report per-epoch dev results.
//   - Metrics that are NaN or infinite (a correlation of constant
//     predictions) are written as null, not Python's bare NaN, which is not
//     JSON; they read back as NaN.
//   - Optimiser moments are checkpointed as optimizer.safetensors, and the
//     arguments as training_args.json, not as pickles.
//
// # Checkpoints, trajectory, resume
//
// A resumable checkpoint-N (the model and tokenizer, optimizer.safetensors,
// trainer_state.json, subtune_state.json with the running sums,
// settings.json with the settings a resume must share, and
// checksums.sha256 with every file's SHA-256) is saved per --save_strategy
// and --save_steps, after every trajectory checkpoint, at the end of
// training, and when the context is cancelled (Ctrl-C). Every file is
// written under a temporary name and renamed into place. When a trajectory
// is recorded and --save_total_limit is unset, only the newest checkpoint
// is kept: the trajectory holds the history.
//
// A run holds its output folder (package dirlock) from start to end: a
// second run into it, or an --overwrite_output_dir of it, is refused with
// the holder's pid, and a folder that cannot be written is refused before
// any work.
//
// The trajectory (package trajectory) starts with θ0, the encoder as loaded;
// a trajectory file is always committed before the checkpoint of the same
// step, so a checkpoint never implies trajectory entries that do not exist.
// --resume checks every file of the checkpoint against its recorded
// SHA-256 (a damaged one is refused, naming the file and offering the
// previous intact checkpoint) and the run's settings against the recorded
// ones (every option but those that cannot change the weights must match:
// Args fields tagged resume:"free"); it then restores model, optimiser
// moments and step, drops trajectory entries newer than the checkpoint,
// and continues; with the same thread
// count the weights, the logged losses and every trajectory file are
// bit-identical to those of an uninterrupted run (TestKillAndResume kills a
// child process with SIGKILL to check it).
//
// A NaN or infinite loss or gradient norm stops the run before any weight
// moves, with an error (wrapping trainloop.ErrNonFinite) that names the step and the
// last good checkpoint.
//
// # Threads and determinism
//
// The engine's threads (nn.SetThreads: the goroutines of the kernels and
// of each GEMM, which decide the order of floating-point sums) are the
// program's to set (cmd/subtune applies --threads, Args.Threads, before it
// calls Finetune); Finetune changes no process-wide setting and logs the
// count it ran with. Two runs with the same seed and
// the same thread count give bit-identical losses and weights.
package trainer
