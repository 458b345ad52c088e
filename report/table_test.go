package report

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// tableRows parses a Markdown table (the first one in md) into its rows
// keyed by the first cell; "" holds the header.
func tableRows(t *testing.T, md string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	header := true
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 0 {
				break
			}
			continue
		}
		if strings.HasPrefix(line, "|-") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		if header {
			rows[""] = cells
			header = false
			continue
		}
		rows[cells[0]] = cells[1:]
	}
	return rows
}

func TestTable1(t *testing.T) {
	three := []int{1, 2, 3}
	for _, tc := range []struct {
		name string
		r    Results
		// want maps a row label to its cells after the label: tasks...,
		// avg, params. A nil value asserts the row is absent.
		want  map[string][]string
		order []string // row labels in order
	}{
		{
			name: "fixture",
			r:    fixture(),
			want: map[string][]string{
				"Full":      {"52.0 ± 2.0", "91.0 ± 1.0", "86.0 ± 1.0", "76.3", "11,170,817–11,171,074"},
				"Freeze":    {"20.0 ± 10.0", "81.0 ± 1.0", "25.0 ± 7.1 (n=2, 1 NaN)", "42.0", "257–514"},
				"Random":    {"22.0 ± 2.0", "83.0 ± 1.0", "44.0 ± 4.0", "49.7", "289–546"},
				"Intrinsic": {"50.0 ± 2.0", "90.0 ± 1.0", "85.0 ± 5.0", "75.0", "289–546"},
			},
			order: []string{"Full", "Freeze", "Random", "Intrinsic"},
		},
		{
			// 80, 85, 93: mean 86, deviations −6, −1, 7, Σd² = 86,
			// variance 86/2 = 43, std 6.557…
			name: "sample std",
			r:    Results{Tasks: []string{"sst2"}, Seeds: three, Runs: runs("sst2", Full, 4_386_178, .80, .85, .93)},
			want: map[string][]string{"Full": {"86.0 ± 6.6", "86.0", "4.39M"}},
		},
		{
			name: "only some methods, Table 1 order whatever the run order",
			r: Results{Tasks: []string{"sst2"}, Seeds: three, Runs: slices.Concat(
				runs("sst2", Intrinsic, 32, .88, .89, .90),
				runs("sst2", "unified", 8, .70, .70, .70),
				runs("sst2", Full, 4_386_178, .90, .91, .92),
			)},
			want: map[string][]string{
				"Full": {"91.0 ± 1.0", "91.0", "4.39M"}, "Intrinsic": {"89.0 ± 1.0", "89.0", "32"},
				"Freeze": nil, "Random": nil, "unified": nil, "Unified": nil,
			},
			order: []string{"Full", "Intrinsic"},
		},
		{
			name: "missing task and missing seed",
			r: Results{Tasks: []string{"cola", "sst2", "stsb"}, Seeds: three, Runs: slices.Concat(
				runs("cola", Full, 100, .50, .52, .54),
				runs("sst2", Full, 100, .90, .92),
				runs("cola", Freeze, 10, .10, .20, .30),
				runs("sst2", Freeze, 10, .80, .81, .82),
				runs("stsb", Freeze, 10, .40, .50, .60),
			)},
			want: map[string][]string{
				"Full":   {"52.0 ± 2.0", "91.0 ± 1.4 (n=2)", "—", "71.5 (2 of 3 tasks)", "100"},
				"Freeze": {"20.0 ± 10.0", "81.0 ± 1.0", "50.0 ± 10.0", "50.3", "10"},
			},
		},
		{
			name: "one seed shows no std",
			r:    Results{Tasks: []string{"sst2"}, Seeds: []int{7}, Runs: runs("sst2", Full, 0, .905)},
			want: map[string][]string{"Full": {"90.5", "90.5", "—"}},
		},
		{
			name: "seeds not listed: n shown against the largest cell",
			r: Results{Tasks: []string{"sst2"}, Runs: slices.Concat(
				runs("sst2", Full, 5, .90, .91, .92),
				runs("sst2", Random, 5, .60, .70),
			)},
			want: map[string][]string{"Full": {"91.0 ± 1.0", "91.0", "5"}, "Random": {"65.0 ± 7.1 (n=2)", "65.0", "5"}},
		},
		{
			name: "all scores NaN",
			r:    Results{Tasks: []string{"stsb"}, Seeds: []int{1, 2}, Runs: runs("stsb", Random, 5, math.NaN(), math.NaN())},
			want: map[string][]string{"Random": {"— (n=0, 2 NaN)", "—", "5"}},
		},
		{
			name: "no minus zero",
			r:    Results{Tasks: []string{"cola"}, Seeds: []int{1, 2}, Runs: runs("cola", Freeze, 5, -0.0004, 0.0002)},
			want: map[string][]string{"Freeze": {"0.0 ± 0.0", "0.0", "5"}},
		},
		{
			name: "task only in runs becomes a column",
			r:    Results{Tasks: []string{"sst2"}, Seeds: []int{1}, Runs: slices.Concat(runs("sst2", Full, 5, .9), runs("rte", Full, 5, .6))},
			want: map[string][]string{"Full": {"90.0", "60.0", "75.0", "5"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := Table1(tc.r)
			rows := tableRows(t, md)
			for label, want := range tc.want {
				got, ok := rows[label]
				if want == nil {
					if ok {
						t.Errorf("row %s present: %q", label, got)
					}
					continue
				}
				if !slices.Equal(got, want) {
					t.Errorf("row %s:\n got %q\nwant %q\n%s", label, got, want, md)
				}
			}
			var order []string
			for _, line := range strings.Split(md, "\n") {
				for _, row := range Table1Rows {
					if strings.HasPrefix(line, "| "+row.Label+" ") {
						order = append(order, row.Label)
					}
				}
			}
			if tc.order != nil && !slices.Equal(order, tc.order) {
				t.Errorf("row order %q, want %q", order, tc.order)
			}
		})
	}
}

func TestTable1Header(t *testing.T) {
	md := Table1(fixture())
	header := tableRows(t, md)[""]
	want := []string{"Method", "CoLA (MCC)", "SST-2 (Acc)", "STS-B (Pearson)", "avg", "Trainable params"}
	if !slices.Equal(header, want) {
		t.Errorf("header %q, want %q", header, want)
	}
	for _, s := range []string{
		"mean ± sample std over 3 seeds (1, 2, 3)",
		"Metrics: CoLA Matthews correlation, SST-2 accuracy, STS-B Pearson correlation.",
		"(n=…): number of runs with a score",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("Table1 lacks %q:\n%s", s, md)
		}
	}
	if strings.Contains(md, "tasks): the average") {
		t.Errorf("complete rows get the incomplete-average note:\n%s", md)
	}
}

func TestTable1NoRuns(t *testing.T) {
	if got := Table1(Results{Tasks: []string{"sst2"}}); !strings.Contains(got, "no runs") {
		t.Errorf("Table1 of no runs = %q", got)
	}
}

func TestScoreTableCustomRows(t *testing.T) {
	r := fixture()
	r.Runs = append(r.Runs, runs("sst2", "transfer:cola", 546, .85, .86, .87)...)
	md := ScoreTable(r, []Row{{"Intrinsic (own)", Intrinsic}, {"From CoLA", "transfer:cola"}})
	rows := tableRows(t, md)
	if got := rows["From CoLA"]; !slices.Equal(got, []string{"—", "86.0 ± 1.0", "—", "86.0 (1 of 3 tasks)", "546"}) {
		t.Errorf("transfer row %q\n%s", got, md)
	}
	if _, ok := rows["Intrinsic (own)"]; !ok {
		t.Errorf("no own row:\n%s", md)
	}
}

func TestSummarizeValues(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name      string
		xs        []float64
		mean, std float64
		n, nans   int
	}{
		{"empty", nil, nan, nan, 0, 0},
		{"one", []float64{4}, 4, nan, 1, 0},
		{"two", []float64{1, 3}, 2, math.Sqrt2, 2, 0},
		{"three", []float64{80, 85, 93}, 86, math.Sqrt(43), 3, 0},
		{"NaN left out", []float64{1, nan, 3, math.Inf(1)}, 2, math.Sqrt2, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := SummarizeValues(tc.xs)
			if !approxEq(s.Mean, tc.mean) || !approxEq(s.Std, tc.std) || s.N != tc.n || s.NaN != tc.nans {
				t.Errorf("got %+v, want mean %v std %v n %d NaN %d", s, tc.mean, tc.std, tc.n, tc.nans)
			}
		})
	}
}

func approxEq(a, b float64) bool {
	return sameFloat(a, b) || math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b))
}

func TestCompactCount(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "0"}, {32, "32"}, {999, "999"}, {1000, "1.00K"}, {1538, "1.54K"}, {9_994, "9.99K"},
		{9_996, "10.0K"}, {66_050, "66.0K"}, {99_960, "100K"}, {999_499, "999K"}, {999_500, "1.00M"},
		{4_386_178, "4.39M"}, {11_171_074, "11.2M"}, {109_482_240, "109M"}, {1_500_000_000, "1.50B"},
	} {
		if got := CompactCount(tc.n); got != tc.want {
			t.Errorf("CompactCount(%d) = %s, want %s", tc.n, got, tc.want)
		}
	}
}

func TestMarkdownTable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header []string
		rows   [][]string
		want   string
	}{
		{
			name:   "padded",
			header: []string{"a", "long header"},
			rows:   [][]string{{"1", "±"}, {"22222", "x"}},
			want: "" +
				"| a     | long header |\n" +
				"|-------|-------------|\n" +
				"| 1     | ±           |\n" +
				"| 22222 | x           |\n",
		},
		{
			name:   "escaped and ragged",
			header: []string{"k"},
			rows:   [][]string{{"a|b", "two\nlines"}, {}},
			want: "" +
				"| k    |           |\n" +
				"|------|-----------|\n" +
				"| a\\|b | two lines |\n" +
				"|      |           |\n",
		},
		{name: "empty", want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MarkdownTable(tc.header, tc.rows); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestFormatters(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{formatCount(0), "—"},
		{formatCount(7), "7"},
		{formatCount(1234), "1,234"},
		{formatCount(11171074), "11,171,074"},
		{formatCount(-1234567), "-1,234,567"},
		{formatSeconds(0), "—"},
		{formatSeconds(math.NaN()), "—"},
		{formatSeconds(0.44), "400ms"},
		{formatSeconds(754.4), "12m34s"},
		{formatSeconds(3725), "1h2m5s"},
		{fmt1(-0.04), "0.0"},
		{fmt1(2.25), "2.2"},
		{fmt1(math.NaN()), "NaN"},
		{MethodLabel("transfer:stsb"), "Transfer from STS-B"},
		{MethodLabel("zeroshot"), "Zero-shot"},
		{MetricLabel("matthews_correlation", true), "MCC"},
		{MetricLabel("bleu", false), "bleu"},
		{code("a`b"), "``a`b``"},
		{code("`x"), "`` `x ``"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
