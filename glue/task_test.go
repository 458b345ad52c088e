package glue

import (
	"slices"
	"testing"
)

func TestRegistry(t *testing.T) {
	// Labels and names in HuggingFace datasets' ClassLabel order.
	tests := []struct {
		name, glueName string
		labels, names  []string
		keys           [2]string
		numLabels      int
		main           string
		metrics        []string
	}{
		{"cola", "CoLA", []string{"0", "1"}, []string{"unacceptable", "acceptable"}, [2]string{"sentence", ""}, 2,
			"matthews_correlation", []string{"matthews_correlation"}},
		{"sst2", "SST-2", []string{"0", "1"}, []string{"negative", "positive"}, [2]string{"sentence", ""}, 2,
			"accuracy", []string{"accuracy"}},
		{"mrpc", "MRPC", []string{"0", "1"}, []string{"not_equivalent", "equivalent"}, [2]string{"sentence1", "sentence2"}, 2,
			"accuracy", []string{"accuracy", "f1", "combined_score"}},
		{"stsb", "STS-B", nil, nil, [2]string{"sentence1", "sentence2"}, 1,
			"pearson", []string{"pearson", "spearmanr", "combined_score"}},
		{"qqp", "QQP", []string{"0", "1"}, []string{"not_duplicate", "duplicate"}, [2]string{"question1", "question2"}, 2,
			"accuracy", []string{"accuracy", "f1", "combined_score"}},
		{"mnli", "MNLI", []string{"entailment", "neutral", "contradiction"}, []string{"entailment", "neutral", "contradiction"},
			[2]string{"premise", "hypothesis"}, 3, "accuracy", []string{"accuracy"}},
		{"qnli", "QNLI", []string{"entailment", "not_entailment"}, []string{"entailment", "not_entailment"},
			[2]string{"question", "sentence"}, 2, "accuracy", []string{"accuracy"}},
		{"rte", "RTE", []string{"entailment", "not_entailment"}, []string{"entailment", "not_entailment"},
			[2]string{"sentence1", "sentence2"}, 2, "accuracy", []string{"accuracy"}},
		{"wnli", "WNLI", []string{"0", "1"}, []string{"not_entailment", "entailment"}, [2]string{"sentence1", "sentence2"}, 2,
			"accuracy", []string{"accuracy"}},
	}
	var names []string
	for _, tt := range tests {
		names = append(names, tt.name)
		task := mustLookup(t, tt.name)
		if task.Name != tt.name || task.GLUEName != tt.glueName {
			t.Errorf("%s: names %q, %q", tt.name, task.Name, task.GLUEName)
		}
		if !slices.Equal(task.Labels, tt.labels) || !slices.Equal(task.LabelNames, tt.names) {
			t.Errorf("%s: labels %q %q, want %q %q", tt.name, task.Labels, task.LabelNames, tt.labels, tt.names)
		}
		if task.IsRegression != (tt.labels == nil) || task.NumLabels() != tt.numLabels {
			t.Errorf("%s: IsRegression %v NumLabels %d", tt.name, task.IsRegression, task.NumLabels())
		}
		if task.Keys != tt.keys || task.HasPair() != (tt.keys[1] != "") {
			t.Errorf("%s: keys %q", tt.name, task.Keys)
		}
		if task.MainMetric() != tt.main || !slices.Equal(task.MetricNames(), tt.metrics) {
			t.Errorf("%s: main metric %q of %q", tt.name, task.MainMetric(), task.MetricNames())
		}
	}
	if !slices.Equal(Names(), names) {
		t.Errorf("Names() = %q, want %q", Names(), names)
	}
}

func TestLookupForms(t *testing.T) {
	for _, name := range []string{"sst2", "SST2", "SST-2", "sst-2"} {
		if task, err := Lookup(name); err != nil || task.Name != "sst2" {
			t.Errorf("Lookup(%q) = %v, %v", name, task, err)
		}
	}
	// Each Lookup returns a copy that callers may change freely.
	a := mustLookup(t, "rte")
	a.Labels[0] = "changed"
	if b := mustLookup(t, "rte"); b.Labels[0] != "entailment" {
		t.Error("changing a looked-up task changed the registry")
	}
}

func TestSplits(t *testing.T) {
	mnli, rte := mustLookup(t, "mnli"), mustLookup(t, "rte")
	if got := mnli.EvalSplits(); !slices.Equal(got, []Split{ValidationMatched, ValidationMismatched}) {
		t.Errorf("mnli eval splits %v", got)
	}
	if got := mnli.TestSplits(); !slices.Equal(got, []Split{TestMatched, TestMismatched}) {
		t.Errorf("mnli test splits %v", got)
	}
	if got := rte.EvalSplits(); !slices.Equal(got, []Split{Validation}) {
		t.Errorf("rte eval splits %v", got)
	}
	if got := rte.Splits(); !slices.Equal(got, []Split{Train, Validation, Test}) {
		t.Errorf("rte splits %v", got)
	}
	files := map[Split]string{
		Train: "train.tsv", Validation: "dev.tsv", Test: "test.tsv",
		ValidationMatched: "dev_matched.tsv", ValidationMismatched: "dev_mismatched.tsv",
		TestMatched: "test_matched.tsv", TestMismatched: "test_mismatched.tsv",
	}
	for s, f := range files {
		if s.FileName() != f {
			t.Errorf("%s.FileName() = %q, want %q", s, s.FileName(), f)
		}
		wantSuffix := ""
		if s == ValidationMismatched || s == TestMismatched {
			wantSuffix = "_mm"
		}
		if s.MetricSuffix() != wantSuffix {
			t.Errorf("%s.MetricSuffix() = %q", s, s.MetricSuffix())
		}
		if s.IsTest() != (s == Test || s == TestMatched || s == TestMismatched) {
			t.Errorf("%s.IsTest() = %v", s, s.IsTest())
		}
	}
	if got := len(mnli.Layout(Train)); got != 12 {
		t.Errorf("MNLI train layout has %d columns, want 12", got)
	}
	if got := len(mnli.Layout(ValidationMismatched)); got != 16 {
		t.Errorf("MNLI dev layout has %d columns, want 16", got)
	}
	if got := len(mnli.Layout(TestMatched)); got != 10 {
		t.Errorf("MNLI test layout has %d columns, want 10", got)
	}
}

// TestDisplayName: the nine tasks as the GLUE paper spells them; any other
// name, including a task's name in another case, is left as it is.
func TestDisplayName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"cola", "CoLA"}, {"sst2", "SST-2"}, {"mrpc", "MRPC"}, {"stsb", "STS-B"}, {"qqp", "QQP"},
		{"mnli", "MNLI"}, {"qnli", "QNLI"}, {"rte", "RTE"}, {"wnli", "WNLI"},
		{"my_task", "my_task"}, {"SST2", "SST2"}, {"", ""},
	} {
		if got := DisplayName(tc.name); got != tc.want {
			t.Errorf("DisplayName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
