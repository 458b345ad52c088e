package report

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
