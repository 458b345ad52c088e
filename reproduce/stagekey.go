package reproduce

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/subtune/subtune/atomicfile"
)

// setKeys derives each stage's key from what its result depends on: the
// model's files (modelHash), the data, every option of the run, and its dependencies'
// keys. A finished stage whose recorded key differs was run from other
// inputs, which the report must not mix: that is an error naming it and
// what differs.
func (r *reproduction) setKeys(g *graph) error {
	model, err := r.modelHash()
	if err != nil {
		return err
	}
	for _, n := range g.nodes {
		if n.in, err = r.stageInputs(n); err != nil {
			return fmt.Errorf("stage %s: %w", n.id, err)
		}
		h := sha256.New()
		fmt.Fprintf(h, "%s\n%s\n%s\n", model, n.kind, n.in)
		for _, d := range n.deps {
			fmt.Fprintf(h, "%s %s\n", d.id, d.key)
		}
		n.key = hex.EncodeToString(h.Sum(nil))[:16]
		if err := n.checkKey(r.o, model); err != nil {
			return err
		}
	}
	return nil
}

// stageRecord is stage.json: the key a finished stage ran from, and what
// it was derived from, to say what differs when it no longer matches.
type stageRecord struct {
	ID     string            `json:"id"`
	Key    string            `json:"key"`
	Model  string            `json:"model,omitempty"`  // the model files' SHA-256
	Inputs string            `json:"inputs,omitempty"` // stageInputs
	Deps   map[string]string `json:"deps,omitempty"`   // dependency id → key
}

func (n *node) recordPath(o Options) string {
	if n.kind == kindReport {
		return filepath.Join(o.OutputDir, "report_"+stageFile)
	}
	return filepath.Join(n.dir(o), stageFile)
}

// checkKey refuses a finished stage recorded with another key.
func (n *node) checkKey(o Options, model string) error {
	data, err := os.ReadFile(n.recordPath(o))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var rec stageRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return fmt.Errorf("%s: %w", n.recordPath(o), err)
	}
	// The same inputs; or half-written, to be redone; or the report,
	// which is always written afresh from the runs.
	if rec.Key == n.key || !n.done() || n.kind == kindReport {
		return nil
	}
	return fmt.Errorf("stage %s was run from other inputs (key %s, now %s): %s; remove %s to redo it, or choose another --output_dir",
		n.id, rec.Key, n.key, n.differences(rec, model), n.dir(o))
}

// differences says what differs between rec and the stage's inputs now.
func (n *node) differences(rec stageRecord, model string) string {
	if rec.Inputs == "" {
		return "the model, data or options differ"
	}
	var out []string
	if rec.Model != model {
		out = append(out, "the model's files differ")
	}
	out = append(out, inputDifferences(rec.Inputs, n.in)...)
	for _, d := range n.deps {
		if k, ok := rec.Deps[d.id]; !ok || k != d.key {
			out = append(out, fmt.Sprintf("stage %s it depends on differs", d.id))
		}
	}
	if len(out) == 0 {
		return "its kind or dependencies differ"
	}
	return strings.Join(out, "; ")
}

// inputDifferences lists the settings that differ between two renderings
// of stageInputs, as "name: then → now".
func inputDifferences(was, now string) []string {
	a, b := inputSettings(was), inputSettings(now)
	var names []string
	for k := range a {
		names = append(names, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var out []string
	for _, k := range names {
		if a[k] != b[k] {
			out = append(out, fmt.Sprintf("%s: %s → %s", k, orNone(a[k]), orNone(b[k])))
		}
	}
	return out
}

// inputSettings splits stageInputs into name → value: the fields of a
// JSON object line, and the name=value words of the others.
func inputSettings(in string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(in, "\n") {
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(line), &obj) == nil {
			for k, v := range obj {
				m[k] = string(v)
			}
			continue
		}
		for _, w := range strings.Fields(line) {
			k, v, _ := strings.Cut(w, "=")
			m[k] = v
		}
	}
	return m
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// record writes stage.json once stage n has finished.
func (r *reproduction) record(n *node) error {
	path := n.recordPath(r.o)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	rec := stageRecord{ID: n.id, Key: n.key, Model: r.modelSum, Inputs: n.in, Deps: map[string]string{}}
	for _, d := range n.deps {
		rec.Deps[d.id] = d.key
	}
	return atomicfile.WriteJSON(path, rec)
}

// recordFinished writes stage.json for each stage of g but the report
// that has finished since the last call, so that a run killed later
// keeps the keys of what it finished.
func (r *reproduction) recordFinished(g *graph) error {
	for _, n := range g.nodes {
		if n.kind == kindReport || r.recorded[n.id] || !n.done() {
			continue
		}
		if err := r.record(n); err != nil {
			return err
		}
		r.recorded[n.id] = true
	}
	return nil
}
