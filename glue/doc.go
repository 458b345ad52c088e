// Package glue reads the nine GLUE tasks and users' own data sets and scores
// predictions on them, matching what HuggingFace's run_glue.py sees and
// reports: the same examples in the same order, the same label ids and the
// same metric values.
//
// # Tasks
//
// Lookup("rte") returns a Task: cola, sst2, mrpc, stsb, qqp, mnli, qnli,
// rte and wnli. Labels are listed in HuggingFace datasets' order, so class
// ids agree with models fine-tuned by run_glue; stsb is a regression task
// with one output. MNLI's dev and test sets come in a matched and a
// mismatched part (splits validation_matched and validation_mismatched,
// whose results run_glue reports with a "_mm" suffix).
//
// # Files
//
// Task.Load reads the official GLUE TSV layouts exactly as HuggingFace
// datasets does: tab-separated, quotes literal (never CSV quoting), a
// header row naming the columns (CoLA's train and dev files have none), a
// UTF-8 byte order mark allowed at the start (MRPC's files have one). Files
// with a header are read by column name, so the differing label columns of
// MNLI's train and dev files need no special case; every row must have as
// many columns as the header. Test files carry no labels and read as
// examples with HasLabel false, ready for prediction.
//
// The data directory is either a task's folder (RTE/ with train.tsv,
// dev.tsv, test.tsv) or a GLUE root holding the task folders under their
// GLUE names (CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE, WNLI). With no
// directory, the files shipped in this package are used: CoLA, SST-2, MRPC,
// STS-B and RTE in full and WNLI's dev set, embedded in the binary (see
// data/ATTRIBUTION.md for sources and terms). Task.LoadFS reads from any
// fs.FS, and Task.Read from any io.Reader, through the same reader.
//
// LoadUserFile reads data sets of one's own as run_glue's --train_file and
// --validation_file do: CSV, TSV or JSON lines with named columns.
//
// # Errors
//
// Bad input is reported as a *FileError naming the file and line ("RTE/dev.tsv:12:
// wrong number of columns: ..."), wrapping one of the Err values so that
// callers can tell the kinds apart: wrong column count, missing column,
// unknown label, bad number, empty file, invalid UTF-8. Nothing is skipped
// silently except blank lines.
//
// # Metrics
//
// Task.Metric returns the keys of HuggingFace evaluate's glue metric with
// the semantics of the libraries behind it: accuracy; F1 of class 1 for
// mrpc and qqp (scikit-learn, 0 when undefined); Matthews correlation for
// cola (scikit-learn, 0 when undefined); Pearson and Spearman correlation
// for stsb (SciPy, ties ranked by their average rank); and run_glue's
// combined_score, the mean of a task's two metrics.
package glue
