package glue

import "strings"

// A Split names a part of a task's data, with HuggingFace datasets' names so
// that flags and result keys read the same as run_glue's.
type Split string

// The splits of the GLUE tasks. MNLI has no plain Validation or Test: its
// dev and test sets come in a matched (in-domain) and a mismatched
// (cross-domain) part.
const (
	Train                Split = "train"
	Validation           Split = "validation"
	Test                 Split = "test"
	ValidationMatched    Split = "validation_matched"
	ValidationMismatched Split = "validation_mismatched"
	TestMatched          Split = "test_matched"
	TestMismatched       Split = "test_mismatched"
)

// FileName returns the name of the split's file in a GLUE task folder:
// GLUE calls the validation sets "dev".
func (s Split) FileName() string {
	name := strings.Replace(string(s), "validation", "dev", 1)
	return name + ".tsv"
}

// IsTest reports whether the split is a test split, whose GLUE files carry
// no labels.
func (s Split) IsTest() bool { return strings.HasPrefix(string(s), "test") }

// MetricSuffix returns what run_glue appends to metric keys computed on the
// split: "_mm" for MNLI's mismatched sets (eval_accuracy_mm), "" otherwise.
func (s Split) MetricSuffix() string {
	if strings.HasSuffix(string(s), "_mismatched") {
		return "_mm"
	}
	return ""
}
