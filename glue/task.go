package glue

import (
	"fmt"
	"slices"
	"strings"
)

// A Task describes one GLUE task: where its files live, how to read them and
// how to score predictions on them. Get one with Lookup.
type Task struct {
	Name     string // run_glue's --task_name: "cola", "sst2", ..., "wnli"
	GLUEName string // the task's folder in a GLUE download: "CoLA", "SST-2", ...

	// Labels are the label values as written in the task's files, in the
	// order of HuggingFace datasets' ClassLabel, so that Labels[i] is class
	// id i: "0", "1" for cola, sst2, mrpc, qqp and wnli; "entailment",
	// "neutral", "contradiction" for mnli. Nil for regression.
	Labels []string
	// LabelNames are HuggingFace datasets' names of the same classes
	// ("unacceptable", "acceptable" for cola), which run_glue puts in a
	// model's id2label and in predict_results_<task>.txt. Nil for regression.
	LabelNames []string
	// IsRegression is true for stsb, whose label is a similarity score.
	IsRegression bool
	// Keys are HuggingFace datasets' names of the text fields (run_glue's
	// task_to_keys); Keys[1] is "" for single-sentence tasks.
	Keys [2]string

	columns     [2]string // header names of the text columns in the TSV files
	labelColumn string    // header name of the label column
	// headerless is set for CoLA, whose train and dev files have no header
	// row: the label is column 1 and the sentence column 3 (0-based).
	headerless bool
	// layout holds the official GLUE column layout of each kind of file
	// ("train", "dev", "test"), for documentation and error messages.
	layout  map[string][]string
	splits  []Split
	metrics []string // metric keys, in the order HuggingFace evaluate returns them
	main    string
}

// registry lists the tasks in the order of the GLUE paper's tables.
var registry = []*Task{
	{
		Name: "cola", GLUEName: "CoLA",
		Labels: []string{"0", "1"}, LabelNames: []string{"unacceptable", "acceptable"},
		Keys: [2]string{"sentence", ""}, columns: [2]string{"sentence", ""}, labelColumn: "label",
		headerless: true,
		layout: map[string][]string{
			"train": {"source", "label", "original label", "sentence"}, // no header row
			"test":  {"index", "sentence"},
		},
		metrics: []string{"matthews_correlation"}, main: "matthews_correlation",
	},
	{
		Name: "sst2", GLUEName: "SST-2",
		Labels: []string{"0", "1"}, LabelNames: []string{"negative", "positive"},
		Keys: [2]string{"sentence", ""}, columns: [2]string{"sentence", ""}, labelColumn: "label",
		layout: map[string][]string{
			"train": {"sentence", "label"},
			"test":  {"index", "sentence"},
		},
		metrics: []string{"accuracy"}, main: "accuracy",
	},
	{
		Name: "mrpc", GLUEName: "MRPC",
		Labels: []string{"0", "1"}, LabelNames: []string{"not_equivalent", "equivalent"},
		Keys: [2]string{"sentence1", "sentence2"}, columns: [2]string{"#1 String", "#2 String"}, labelColumn: "Quality",
		layout: map[string][]string{
			"train": {"Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"},
			"test":  {"index", "#1 ID", "#2 ID", "#1 String", "#2 String"},
		},
		metrics: []string{"accuracy", "f1", "combined_score"}, main: "accuracy",
	},
	{
		Name: "stsb", GLUEName: "STS-B",
		IsRegression: true,
		Keys:         [2]string{"sentence1", "sentence2"}, columns: [2]string{"sentence1", "sentence2"}, labelColumn: "score",
		layout: map[string][]string{
			"train": {"index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2", "score"},
			"test":  {"index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2"},
		},
		metrics: []string{"pearson", "spearmanr", "combined_score"}, main: "pearson",
	},
	{
		Name: "qqp", GLUEName: "QQP",
		Labels: []string{"0", "1"}, LabelNames: []string{"not_duplicate", "duplicate"},
		Keys: [2]string{"question1", "question2"}, columns: [2]string{"question1", "question2"}, labelColumn: "is_duplicate",
		layout: map[string][]string{
			"train": {"id", "qid1", "qid2", "question1", "question2", "is_duplicate"},
			"test":  {"id", "question1", "question2"},
		},
		metrics: []string{"accuracy", "f1", "combined_score"}, main: "accuracy",
	},
	{
		Name: "mnli", GLUEName: "MNLI",
		Labels:     []string{"entailment", "neutral", "contradiction"},
		LabelNames: []string{"entailment", "neutral", "contradiction"},
		Keys:       [2]string{"premise", "hypothesis"}, columns: [2]string{"sentence1", "sentence2"}, labelColumn: "gold_label",
		layout: map[string][]string{
			"train": append(mnliTestLayout(), "label1", "gold_label"),
			"dev":   append(mnliTestLayout(), "label1", "label2", "label3", "label4", "label5", "gold_label"),
			"test":  mnliTestLayout(),
		},
		splits:  []Split{Train, ValidationMatched, ValidationMismatched, TestMatched, TestMismatched},
		metrics: []string{"accuracy"}, main: "accuracy",
	},
	{
		Name: "qnli", GLUEName: "QNLI",
		Labels: []string{"entailment", "not_entailment"}, LabelNames: []string{"entailment", "not_entailment"},
		Keys: [2]string{"question", "sentence"}, columns: [2]string{"question", "sentence"}, labelColumn: "label",
		layout: map[string][]string{
			"train": {"index", "question", "sentence", "label"},
			"test":  {"index", "question", "sentence"},
		},
		metrics: []string{"accuracy"}, main: "accuracy",
	},
	{
		Name: "rte", GLUEName: "RTE",
		Labels: []string{"entailment", "not_entailment"}, LabelNames: []string{"entailment", "not_entailment"},
		Keys: [2]string{"sentence1", "sentence2"}, columns: [2]string{"sentence1", "sentence2"}, labelColumn: "label",
		layout: map[string][]string{
			"train": {"index", "sentence1", "sentence2", "label"},
			"test":  {"index", "sentence1", "sentence2"},
		},
		metrics: []string{"accuracy"}, main: "accuracy",
	},
	{
		// WNLI writes its labels as 0 and 1, where 1 means entailment; HF
		// datasets keeps that order, so not_entailment comes first.
		Name: "wnli", GLUEName: "WNLI",
		Labels: []string{"0", "1"}, LabelNames: []string{"not_entailment", "entailment"},
		Keys: [2]string{"sentence1", "sentence2"}, columns: [2]string{"sentence1", "sentence2"}, labelColumn: "label",
		layout: map[string][]string{
			"train": {"index", "sentence1", "sentence2", "label"},
			"test":  {"index", "sentence1", "sentence2"},
		},
		metrics: []string{"accuracy"}, main: "accuracy",
	},
}

func mnliTestLayout() []string {
	return []string{"index", "promptID", "pairID", "genre",
		"sentence1_binary_parse", "sentence2_binary_parse", "sentence1_parse", "sentence2_parse",
		"sentence1", "sentence2"}
}

// Names returns the names of the nine GLUE tasks, in the order of the GLUE
// paper's tables.
func Names() []string {
	names := make([]string, len(registry))
	for i, t := range registry {
		names[i] = t.Name
	}
	return names
}

// DisplayName returns how the GLUE paper, and the papers that report on
// GLUE, spell a task: its GLUE name ("sst2" → "SST-2"). Any other name
// (a user's own task) is returned as it is.
func DisplayName(name string) string {
	for _, t := range registry {
		if t.Name == name {
			return t.GLUEName
		}
	}
	return name
}

// Lookup returns the task with the given run_glue name ("rte") or GLUE
// folder name ("RTE", "SST-2"), in any case. Each call returns a fresh copy,
// so a caller may change it without affecting others.
func Lookup(name string) (*Task, error) {
	for _, t := range registry {
		if strings.EqualFold(name, t.Name) || strings.EqualFold(name, t.GLUEName) {
			return t.clone(), nil
		}
	}
	return nil, fmt.Errorf("glue: %w %q (valid: %s)", ErrUnknownTask, name, strings.Join(Names(), ", "))
}

func (t *Task) clone() *Task {
	c := *t
	c.Labels = slices.Clone(t.Labels)
	c.LabelNames = slices.Clone(t.LabelNames)
	c.splits = slices.Clone(t.splits)
	c.metrics = slices.Clone(t.metrics)
	// layout is never written to, so the copy may share it.
	return &c
}

// NumLabels returns the size of the classification head: the number of
// classes, or 1 for regression as in HuggingFace.
func (t *Task) NumLabels() int {
	if t.IsRegression {
		return 1
	}
	return len(t.Labels)
}

// HasPair reports whether the task's examples are sentence pairs.
func (t *Task) HasPair() bool { return t.Keys[1] != "" }

// Splits returns every split the task has.
func (t *Task) Splits() []Split {
	if t.splits != nil {
		return slices.Clone(t.splits)
	}
	return []Split{Train, Validation, Test}
}

// EvalSplits returns the splits run_glue evaluates on: MNLI's matched and
// mismatched dev sets, the dev set for the other tasks.
func (t *Task) EvalSplits() []Split {
	if t.Name == "mnli" {
		return []Split{ValidationMatched, ValidationMismatched}
	}
	return []Split{Validation}
}

// TestSplits returns the splits run_glue predicts on with --do_predict.
func (t *Task) TestSplits() []Split {
	if t.Name == "mnli" {
		return []Split{TestMatched, TestMismatched}
	}
	return []Split{Test}
}

// Layout returns the official GLUE column layout of the split's file, as
// its header row names the columns (CoLA's train and dev files have no
// header; the names returned for them are descriptive).
func (t *Task) Layout(split Split) []string {
	kind := "train"
	switch {
	case split.IsTest():
		kind = "test"
	case split != Train && t.layout["dev"] != nil:
		kind = "dev"
	}
	return slices.Clone(t.layout[kind])
}

func (t *Task) checkSplit(split Split) error {
	splits := t.Splits()
	if slices.Contains(splits, split) {
		return nil
	}
	names := make([]string, len(splits))
	for i, s := range splits {
		names[i] = string(s)
	}
	return fmt.Errorf("glue: %s: %w %q (valid: %s)", t.Name, ErrSplit, split, strings.Join(names, ", "))
}
