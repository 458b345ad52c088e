package report

import (
	"encoding/json"
	"math"

	"github.com/subtune/subtune/jsonnum"
)

// runJSON is Run's JSON form.
type runJSON struct {
	Task        string        `json:"task"`
	Method      string        `json:"method"`
	Seed        int           `json:"seed"`
	Dir         string        `json:"dir"`
	Metric      string        `json:"metric"`
	Score       jsonnum.Float `json:"score"`
	Metrics     jsonnum.Map   `json:"metrics,omitempty"`
	Trainable   int           `json:"trainable"`
	Total       int           `json:"total"`
	WallSeconds jsonnum.Float `json:"wall_seconds"`
}

// MarshalJSON encodes r with snake_case keys; a NaN or infinite score,
// metric or wall time is written as null.
func (r Run) MarshalJSON() ([]byte, error) {
	return json.Marshal(runJSON{
		Task: r.Task, Method: r.Method, Seed: r.Seed, Dir: r.Dir, Metric: r.Metric,
		Score: jsonnum.Float(r.Score), Metrics: jsonnum.Map(r.Metrics),
		Trainable: r.Trainable, Total: r.Total, WallSeconds: jsonnum.Float(r.WallSeconds),
	})
}

// UnmarshalJSON decodes MarshalJSON's form. A null or absent score is NaN
// (unknown), never 0.
func (r *Run) UnmarshalJSON(b []byte) error {
	j := runJSON{Score: jsonnum.Float(math.NaN())}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Run{
		Task: j.Task, Method: j.Method, Seed: j.Seed, Dir: j.Dir, Metric: j.Metric,
		Score: float64(j.Score), Metrics: j.Metrics,
		Trainable: j.Trainable, Total: j.Total, WallSeconds: float64(j.WallSeconds),
	}
	return nil
}

type spectrumJSON struct {
	Task           string         `json:"task"`
	Layer          int            `json:"layer"`
	SingularValues jsonnum.Floats `json:"singular_values"`
}

// MarshalJSON encodes s with snake_case keys; NaN values are written as null.
func (s Spectrum) MarshalJSON() ([]byte, error) {
	return json.Marshal(spectrumJSON{s.Task, s.Layer, s.SingularValues})
}

// UnmarshalJSON decodes MarshalJSON's form.
func (s *Spectrum) UnmarshalJSON(b []byte) error {
	var j spectrumJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Spectrum{j.Task, j.Layer, j.SingularValues}
	return nil
}

type resultsJSON struct {
	Model       string          `json:"model"`
	Profile     string          `json:"profile"`
	Tasks       []string        `json:"tasks"`
	Seeds       []int           `json:"seeds"`
	WallSeconds jsonnum.Float   `json:"wall_seconds"`
	Command     string          `json:"command"`
	Runs        []Run           `json:"runs"`
	Spectra     []Spectrum      `json:"spectra"`
	Analyses    []AnalysisTable `json:"analyses,omitempty"`
	Claims      []Claim         `json:"claims,omitempty"`
}

// MarshalJSON encodes r with snake_case keys; empty lists are written as
// [] rather than null.
func (r Results) MarshalJSON() ([]byte, error) {
	j := resultsJSON{
		Model: r.Model, Profile: r.Profile, Tasks: r.Tasks, Seeds: r.Seeds,
		WallSeconds: jsonnum.Float(r.WallSeconds), Command: r.Command,
		Runs: r.Runs, Spectra: r.Spectra, Analyses: r.Analyses, Claims: r.Claims,
	}
	if j.Tasks == nil {
		j.Tasks = []string{}
	}
	if j.Seeds == nil {
		j.Seeds = []int{}
	}
	if j.Runs == nil {
		j.Runs = []Run{}
	}
	if j.Spectra == nil {
		j.Spectra = []Spectrum{}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes MarshalJSON's form.
func (r *Results) UnmarshalJSON(b []byte) error {
	var j resultsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Results{
		Model: j.Model, Profile: j.Profile, Tasks: j.Tasks, Seeds: j.Seeds,
		WallSeconds: float64(j.WallSeconds), Command: j.Command,
		Runs: j.Runs, Spectra: j.Spectra, Analyses: j.Analyses, Claims: j.Claims,
	}
	return nil
}
