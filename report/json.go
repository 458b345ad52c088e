package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// jsonFloat is a float64 that encodes NaN and ±Inf as JSON null (JSON has
// no such numbers) and decodes null as NaN.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*f = jsonFloat(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = jsonFloat(v)
	return nil
}

func toJSONFloats(xs []float64) []jsonFloat {
	if xs == nil {
		return nil
	}
	out := make([]jsonFloat, len(xs))
	for i, x := range xs {
		out[i] = jsonFloat(x)
	}
	return out
}

func fromJSONFloats(xs []jsonFloat) []float64 {
	if xs == nil {
		return nil
	}
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

func toJSONMap(m map[string]float64) map[string]jsonFloat {
	if m == nil {
		return nil
	}
	out := make(map[string]jsonFloat, len(m))
	for k, v := range m {
		out[k] = jsonFloat(v)
	}
	return out
}

func fromJSONMap(m map[string]jsonFloat) map[string]float64 {
	if m == nil {
		return nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = float64(v)
	}
	return out
}

// runJSON is Run's JSON form.
type runJSON struct {
	Task        string               `json:"task"`
	Method      string               `json:"method"`
	Seed        int                  `json:"seed"`
	Dir         string               `json:"dir"`
	Metric      string               `json:"metric"`
	Score       jsonFloat            `json:"score"`
	Metrics     map[string]jsonFloat `json:"metrics,omitempty"`
	Trainable   int                  `json:"trainable"`
	Total       int                  `json:"total"`
	WallSeconds jsonFloat            `json:"wall_seconds"`
}

// MarshalJSON encodes r with snake_case keys; a NaN or infinite score,
// metric or wall time is written as null.
func (r Run) MarshalJSON() ([]byte, error) {
	return json.Marshal(runJSON{
		Task: r.Task, Method: r.Method, Seed: r.Seed, Dir: r.Dir, Metric: r.Metric,
		Score: jsonFloat(r.Score), Metrics: toJSONMap(r.Metrics),
		Trainable: r.Trainable, Total: r.Total, WallSeconds: jsonFloat(r.WallSeconds),
	})
}

// UnmarshalJSON decodes MarshalJSON's form. A null or absent score is NaN
// (unknown), never 0.
func (r *Run) UnmarshalJSON(b []byte) error {
	j := runJSON{Score: jsonFloat(math.NaN())}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Run{
		Task: j.Task, Method: j.Method, Seed: j.Seed, Dir: j.Dir, Metric: j.Metric,
		Score: float64(j.Score), Metrics: fromJSONMap(j.Metrics),
		Trainable: j.Trainable, Total: j.Total, WallSeconds: float64(j.WallSeconds),
	}
	return nil
}

type spectrumJSON struct {
	Task           string      `json:"task"`
	Layer          int         `json:"layer"`
	SingularValues []jsonFloat `json:"singular_values"`
}

// MarshalJSON encodes s with snake_case keys; NaN values are written as null.
func (s Spectrum) MarshalJSON() ([]byte, error) {
	return json.Marshal(spectrumJSON{s.Task, s.Layer, toJSONFloats(s.SingularValues)})
}

// UnmarshalJSON decodes MarshalJSON's form.
func (s *Spectrum) UnmarshalJSON(b []byte) error {
	var j spectrumJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Spectrum{j.Task, j.Layer, fromJSONFloats(j.SingularValues)}
	return nil
}

type resultsJSON struct {
	Model       string          `json:"model"`
	Profile     string          `json:"profile"`
	Tasks       []string        `json:"tasks"`
	Seeds       []int           `json:"seeds"`
	WallSeconds jsonFloat       `json:"wall_seconds"`
	Command     string          `json:"command"`
	Runs        []Run           `json:"runs"`
	Spectra     []Spectrum      `json:"spectra"`
	Analyses    []AnalysisTable `json:"analyses,omitempty"`
}

// MarshalJSON encodes r with snake_case keys; empty lists are written as
// [] rather than null.
func (r Results) MarshalJSON() ([]byte, error) {
	j := resultsJSON{
		Model: r.Model, Profile: r.Profile, Tasks: r.Tasks, Seeds: r.Seeds,
		WallSeconds: jsonFloat(r.WallSeconds), Command: r.Command,
		Runs: r.Runs, Spectra: r.Spectra, Analyses: r.Analyses,
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
		Runs: j.Runs, Spectra: j.Spectra, Analyses: j.Analyses,
	}
	return nil
}
