package report

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	r := fixture()
	r.Runs = append(r.Runs, Run{
		Task: "rte", Method: Full, Seed: 1, Dir: "runs/rte", Metric: "accuracy",
		Score:   math.NaN(),
		Metrics: map[string]float64{"accuracy": math.NaN(), "f1": 0.5},
	})
	r.Spectra = append(r.Spectra, Spectrum{Task: "rte", Layer: 0, SingularValues: []float64{3, math.NaN(), 1}})
	path := filepath.Join(t.TempDir(), "results.json")
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "NaN") {
		t.Errorf("results.json contains NaN, which is not JSON")
	}
	for _, want := range []string{`"score": null`, `"accuracy": null`, `"singular_values": [`, "null,"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("results.json lacks %s", want)
		}
	}
	if !json.Valid(raw) {
		t.Fatalf("results.json is not valid JSON")
	}

	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !sameRuns(got.Runs, r.Runs) {
		t.Errorf("runs differ after a round trip")
	}
	last := got.Runs[len(got.Runs)-1]
	if !math.IsNaN(last.Score) || !math.IsNaN(last.Metrics["accuracy"]) || last.Metrics["f1"] != 0.5 {
		t.Errorf("NaN run after round trip: %+v", last)
	}
	sv := got.Spectra[len(got.Spectra)-1].SingularValues
	if len(sv) != 3 || sv[0] != 3 || !math.IsNaN(sv[1]) || sv[2] != 1 {
		t.Errorf("spectrum after round trip: %v", sv)
	}
	if got.Model != r.Model || got.Profile != r.Profile || got.Command != r.Command ||
		got.WallSeconds != r.WallSeconds || strings.Join(got.Tasks, ",") != strings.Join(r.Tasks, ",") ||
		len(got.Seeds) != 3 || len(got.Spectra) != len(r.Spectra) {
		t.Errorf("header after round trip: %+v", got)
	}
}

func TestJSONFloats(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   float64
		json string
		back float64 // NaN: expect NaN
	}{
		{"number", 0.8125, "0.8125", 0.8125},
		{"zero", 0, "0", 0},
		{"negative", -0.25, "-0.25", -0.25},
		{"NaN", math.NaN(), "null", math.NaN()},
		{"+Inf", math.Inf(1), "null", math.NaN()},
		{"-Inf", math.Inf(-1), "null", math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(Run{Score: tc.in})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `"score":`+tc.json+",") {
				t.Errorf("encoded %s, want score %s", b, tc.json)
			}
			var r Run
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			if !sameFloat(r.Score, tc.back) {
				t.Errorf("decoded %v, want %v", r.Score, tc.back)
			}
		})
	}
}

func TestLoadScoreAbsentOrNull(t *testing.T) {
	for _, tc := range []struct {
		name, run string
		want      float64
	}{
		{"absent", `{"task":"sst2","method":"full"}`, math.NaN()},
		{"null", `{"task":"sst2","method":"full","score":null}`, math.NaN()},
		{"zero", `{"task":"sst2","method":"full","score":0}`, 0},
		{"value", `{"task":"sst2","method":"full","score":0.9,"metrics":{"accuracy":null}}`, 0.9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "results.json")
			if err := os.WriteFile(path, []byte(`{"runs":[`+tc.run+`]}`), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Runs) != 1 || !sameFloat(r.Runs[0].Score, tc.want) {
				t.Errorf("score %v, want %v", r.Runs[0].Score, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Errorf("Load of a missing file: no error")
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"runs": [{"score": "high"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("Load of a malformed file: %v, want an error naming it", err)
	}
}

func TestSaveEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	if err := (Results{}).Save(path); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	for _, key := range []string{"tasks", "seeds", "runs", "spectra"} {
		if !strings.Contains(string(raw), `"`+key+`": []`) {
			t.Errorf("empty %s not written as []: %s", key, raw)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Results)
		want   string // "" for valid
	}{
		{"fixture", func(*Results) {}, ""},
		{"duplicate run", func(r *Results) { r.Runs = append(r.Runs, r.Runs[0]) }, "both task cola, method full, seed 1"},
		{"no method", func(r *Results) { r.Runs[3].Method = "" }, "empty task or method"},
		{"more trainable than total", func(r *Results) { r.Runs[0].Trainable = r.Runs[0].Total + 1 }, "trainable of"},
		{"negative count", func(r *Results) { r.Runs[0].Total = -1 }, "trainable of"},
		{"duplicate spectrum", func(r *Results) { r.Spectra = append(r.Spectra, r.Spectra[0]) }, "two spectra for task cola layer 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fixture()
			tc.modify(&r)
			err := r.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestAllTasks(t *testing.T) {
	r := Results{Tasks: []string{"sst2"}, Runs: []Run{{Task: "rte"}, {Task: "sst2"}, {Task: "cola"}},
		Spectra: []Spectrum{{Task: "mrpc"}, {Task: "rte"}}}
	if got, want := strings.Join(r.AllTasks(), ","), "sst2,rte,cola,mrpc"; got != want {
		t.Errorf("AllTasks = %s, want %s", got, want)
	}
}
