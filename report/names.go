package report

import "strings"

// taskLabels are the paper's spellings of the GLUE task names.
var taskLabels = map[string]string{
	"cola": "CoLA", "sst2": "SST-2", "mrpc": "MRPC", "stsb": "STS-B", "qqp": "QQP",
	"mnli": "MNLI", "mnli_mismatched": "MNLI-mm", "mnli_matched": "MNLI-m",
	"qnli": "QNLI", "rte": "RTE", "wnli": "WNLI", "ax": "AX",
}

// TaskLabel returns the paper's name of a GLUE task ("sst2" → "SST-2"),
// or task itself for any other task.
func TaskLabel(task string) string {
	if l, ok := taskLabels[task]; ok {
		return l
	}
	return task
}

var methodLabels = map[string]string{
	Full: "Full", Freeze: "Freeze", Random: "Random", Intrinsic: "Intrinsic",
	"unified": "Unified", "zeroshot": "Zero-shot",
}

// MethodLabel returns the display name of a method: "full" → "Full",
// "transfer:sst2" → "Transfer from SST-2"; unknown methods are returned
// as they are.
func MethodLabel(method string) string {
	if l, ok := methodLabels[method]; ok {
		return l
	}
	if from, ok := strings.CutPrefix(method, "transfer:"); ok {
		return "Transfer from " + TaskLabel(from)
	}
	return method
}

// metricNames maps glue metric keys to a long and a short display name.
var metricNames = map[string][2]string{
	"accuracy":             {"accuracy", "Acc"},
	"matthews_correlation": {"Matthews correlation", "MCC"},
	"pearson":              {"Pearson correlation", "Pearson"},
	"spearmanr":            {"Spearman correlation", "Spearman"},
	"f1":                   {"F1", "F1"},
	"combined_score":       {"mean of the metrics", "Comb."},
	"mse":                  {"mean squared error", "MSE"},
}

// MetricLabel returns a metric's display name, long ("Matthews
// correlation") or short ("MCC").
func MetricLabel(metric string, short bool) string {
	n, ok := metricNames[metric]
	if !ok {
		return metric
	}
	if short {
		return n[1]
	}
	return n[0]
}
