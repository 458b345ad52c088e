package glue

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// The row counts are those of ../shared/README.md; the per-class counts were
// taken from the files with awk, independently of this package's reader.
func TestShippedCounts(t *testing.T) {
	tests := []struct {
		task   string
		split  Split
		rows   int
		counts []int // examples per class id; nil for test splits and stsb
		pair   bool
	}{
		{"cola", Train, 8551, []int{2528, 6023}, false},
		{"cola", Validation, 1043, []int{322, 721}, false},
		{"cola", Test, 1063, nil, false},
		{"sst2", Train, 67349, []int{29780, 37569}, false},
		{"sst2", Validation, 872, []int{428, 444}, false},
		{"sst2", Test, 1821, nil, false},
		{"mrpc", Train, 3668, []int{1194, 2474}, true},
		{"mrpc", Validation, 408, []int{129, 279}, true},
		{"mrpc", Test, 1725, nil, true},
		{"stsb", Train, 5749, nil, true},
		{"stsb", Validation, 1500, nil, true},
		{"stsb", Test, 1379, nil, true},
		{"rte", Train, 2490, []int{1249, 1241}, true},
		{"rte", Validation, 277, []int{146, 131}, true},
		{"rte", Test, 3000, nil, true},
		{"wnli", Validation, 71, []int{40, 31}, true},
	}
	for _, tt := range tests {
		t.Run(tt.task+"/"+string(tt.split), func(t *testing.T) {
			task := mustLookup(t, tt.task)
			examples, err := task.Load("", tt.split)
			if err != nil {
				t.Fatal(err)
			}
			if len(examples) != tt.rows {
				t.Fatalf("got %d rows, want %d", len(examples), tt.rows)
			}
			counts := make([]int, len(task.Labels))
			for i, ex := range examples {
				if ex.Index != i {
					t.Fatalf("example %d has Index %d", i, ex.Index)
				}
				if ex.HasPair != tt.pair || (ex.TextB != "") != tt.pair || ex.TextA == "" {
					t.Fatalf("example %d: %+v: want pair %v", i, ex, tt.pair)
				}
				if ex.HasLabel == tt.split.IsTest() {
					t.Fatalf("example %d: HasLabel %v in split %s", i, ex.HasLabel, tt.split)
				}
				if ex.HasLabel && !task.IsRegression {
					counts[ex.Label]++
				}
				if !ex.HasLabel && (ex.Label != -1 || ex.Score != -1) {
					t.Fatalf("unlabeled example %d: Label %d Score %v, want -1, -1", i, ex.Label, ex.Score)
				}
			}
			if tt.counts != nil && !slices.Equal(counts, tt.counts) {
				t.Errorf("examples per class %v, want %v", counts, tt.counts)
			}
		})
	}
}

func TestShippedContent(t *testing.T) {
	// First and last rows, as the files have them: MRPC's first
	// header cell sits behind a byte order mark; quotes stay literal.
	tests := []struct {
		task  string
		split Split
		i     int
		want  Example
	}{
		{"cola", Train, 0, Example{TextA: "Our friends won't buy this analysis, let alone the next one we propose.", Label: 1, Line: 1}},
		{"cola", Validation, 1042, Example{TextA: "John talked to Bill about himself.", Label: 1, Line: 1043}},
		{"cola", Test, 0, Example{TextA: "Bill whistled past the house.", Label: -1, Line: 2}},
		{"sst2", Train, 0, Example{TextA: "hide new secretions from the parental units ", Label: 0, Line: 2}},
		{"mrpc", Train, 0, Example{
			TextA: `Amrozi accused his brother, whom he called "the witness", of deliberately distorting his evidence.`,
			TextB: `Referring to him as only "the witness", Amrozi accused his brother of deliberately distorting his evidence.`,
			Label: 1, Line: 2}},
		{"mrpc", Validation, 0, Example{
			TextA: "He said the foodservice pie business doesn't fit the company's long-term growth strategy.",
			TextB: `"The foodservice pie business does not fit our long-term growth strategy.`,
			Label: 1, Line: 2}},
		{"stsb", Train, 1, Example{TextA: "A man is playing a large flute.", TextB: "A man is playing a flute.", Label: -1, Score: 3.8, Line: 3}},
		{"rte", Validation, 0, Example{
			TextA: "Dana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44, according to the Christopher Reeve Foundation.",
			TextB: "Christopher Reeve had an accident.", Label: 1, Line: 2}},
		{"wnli", Validation, 0, Example{TextA: "The drain is clogged with hair. It has to be cleaned.", TextB: "The hair has to be cleaned.", Label: 0, Line: 2}},
	}
	for _, tt := range tests {
		task := mustLookup(t, tt.task)
		examples, err := task.Load("", tt.split)
		if err != nil {
			t.Fatal(err)
		}
		got := examples[tt.i]
		want := tt.want
		want.Index = tt.i
		want.HasPair = task.HasPair()
		want.HasLabel = !tt.split.IsTest()
		if !task.IsRegression || !want.HasLabel {
			want.Score = -1
		}
		if got != want {
			t.Errorf("%s %s[%d]:\n got %+v\nwant %+v", tt.task, tt.split, tt.i, got, want)
		}
	}
}

func TestShippedScores(t *testing.T) {
	// Sums of the score column, from awk.
	for split, want := range map[Split]float64{Train: 15528.043397, Validation: 3545.861333} {
		examples, err := mustLookup(t, "stsb").Load("", split)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, ex := range examples {
			if ex.Score < 0 || ex.Score > 5 {
				t.Fatalf("line %d: score %v out of [0, 5]", ex.Line, ex.Score)
			}
			sum += float64(ex.Score)
		}
		if math.Abs(sum-want) > 1e-3 {
			t.Errorf("%s: sum of scores %.6f, want %.6f", split, sum, want)
		}
	}
}

func TestNotShipped(t *testing.T) {
	for _, c := range []struct {
		task  string
		split Split
	}{{"qqp", Train}, {"mnli", ValidationMatched}, {"qnli", Test}, {"wnli", Train}} {
		_, err := mustLookup(t, c.task).Load("", c.split)
		if err == nil || !strings.Contains(err.Error(), "not shipped") {
			t.Errorf("%s %s: got %v, want a not-shipped error", c.task, c.split, err)
		}
	}
}

func mustLookup(t testing.TB, name string) *Task {
	t.Helper()
	task, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return task
}
