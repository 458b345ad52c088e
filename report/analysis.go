package report

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/jsonnum"
)

// Cell is one number of an analysis table: the mean ± sample std of some
// per-seed values, with the run directories they were computed from, so
// that results.json keeps every number of a report section traceable.
type Cell struct {
	Summary
	// Note qualifies the number in the table, e.g. "d=25" when a sweep's
	// value was capped at the trajectory length.
	Note string
	Runs []string // run directories behind the number
}

// AnalysisTable is one table of an analysis beyond Table 1 (transfer,
// unified subspace, dimension sweep, …) as a labelled grid.
type AnalysisTable struct {
	Analysis string // e.g. "transfer"
	Name     string // which of its tables, e.g. "scores" or "drop"
	Unit     string // what the numbers are, e.g. "score ×100"
	Rows     []string
	Cols     []string
	Cells    [][]Cell // [row][col]
}

// NewAnalysisTable returns an empty rows × cols table.
func NewAnalysisTable(analysis, name, unit string, rows, cols []string) AnalysisTable {
	t := AnalysisTable{Analysis: analysis, Name: name, Unit: unit, Rows: rows, Cols: cols, Cells: make([][]Cell, len(rows))}
	for i := range t.Cells {
		t.Cells[i] = make([]Cell, len(cols))
		for j := range t.Cells[i] {
			t.Cells[i][j].Summary = SummarizeValues(nil)
		}
	}
	return t
}

// Validate checks that the grid has a cell for every row and column.
func (t AnalysisTable) Validate() error {
	if len(t.Cells) != len(t.Rows) {
		return fmt.Errorf("analysis %s/%s: %d rows of cells for %d row labels", t.Analysis, t.Name, len(t.Cells), len(t.Rows))
	}
	for i, row := range t.Cells {
		if len(row) != len(t.Cols) {
			return fmt.Errorf("analysis %s/%s: row %q has %d cells for %d columns", t.Analysis, t.Name, t.Rows[i], len(row), len(t.Cols))
		}
	}
	return nil
}

// Means returns the cells' means as a matrix (NaN where a cell has no
// value), e.g. for a figure.Heatmap.
func (t AnalysisTable) Means() [][]float64 {
	m := make([][]float64, len(t.Cells))
	for i, row := range t.Cells {
		m[i] = make([]float64, len(row))
		for j, c := range row {
			m[i][j] = c.Mean
		}
	}
	return m
}

// Markdown renders the table with corner as the header of the label
// column: each cell "mean ± std" (the mean alone for one value, "—" for
// none) followed by its note in parentheses. Labels that are GLUE task
// names are written as the paper spells them (glue.DisplayName).
func (t AnalysisTable) Markdown(corner string) string {
	header := []string{corner}
	for _, c := range t.Cols {
		header = append(header, glue.DisplayName(c))
	}
	var body [][]string
	for i, row := range t.Cells {
		line := []string{glue.DisplayName(t.Rows[i])}
		for _, c := range row {
			s := formatSummary(c.Summary)
			if c.NaN > 0 {
				s += fmt.Sprintf(" (%d NaN)", c.NaN)
			}
			if c.Note != "" {
				s += " (" + c.Note + ")"
			}
			line = append(line, s)
		}
		body = append(body, line)
	}
	return MarkdownTable(header, body)
}

type cellJSON struct {
	Mean jsonnum.Float `json:"mean"`
	Std  jsonnum.Float `json:"std"`
	N    int           `json:"n"`
	NaN  int           `json:"nan,omitempty"`
	Note string        `json:"note,omitempty"`
	Runs []string      `json:"runs"`
}

// MarshalJSON writes a NaN mean or std as null.
func (c Cell) MarshalJSON() ([]byte, error) {
	runs := c.Runs
	if runs == nil {
		runs = []string{}
	}
	return json.Marshal(cellJSON{jsonnum.Float(c.Mean), jsonnum.Float(c.Std), c.N, c.NaN, c.Note, runs})
}

// UnmarshalJSON reads MarshalJSON's form; null is NaN.
func (c *Cell) UnmarshalJSON(b []byte) error {
	j := cellJSON{Mean: jsonnum.Float(math.NaN()), Std: jsonnum.Float(math.NaN())}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = Cell{Summary: Summary{Mean: float64(j.Mean), Std: float64(j.Std), N: j.N, NaN: j.NaN}, Note: j.Note, Runs: j.Runs}
	return nil
}

type analysisTableJSON struct {
	Analysis string   `json:"analysis"`
	Name     string   `json:"name"`
	Unit     string   `json:"unit"`
	Rows     []string `json:"rows"`
	Cols     []string `json:"cols"`
	Cells    [][]Cell `json:"cells"`
}

// MarshalJSON encodes t with snake_case keys.
func (t AnalysisTable) MarshalJSON() ([]byte, error) {
	return json.Marshal(analysisTableJSON(t))
}

// UnmarshalJSON decodes MarshalJSON's form.
func (t *AnalysisTable) UnmarshalJSON(b []byte) error {
	var j analysisTableJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = AnalysisTable(j)
	return nil
}

// Analysis returns the tables of one analysis, in their order in r.
func (r Results) Analysis(name string) []AnalysisTable {
	var out []AnalysisTable
	for _, t := range r.Analyses {
		if t.Analysis == name {
			out = append(out, t)
		}
	}
	return out
}

// analysisKey identifies a table for Validate's duplicate check.
func analysisKey(t AnalysisTable) string { return strings.Join([]string{t.Analysis, t.Name}, "/") }
