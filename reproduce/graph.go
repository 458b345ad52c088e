package reproduce

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/subtune/subtune/report"
)

// The kinds of stage of a reproduction's graph.
const (
	kindRun     = "run"     // one fine-tuning run (a job)
	kindExtract = "extract" // Table 1's subspace of one task and seed
	kindReport  = "report"  // REPORT.md and results.json
	// kindAnalysis analyses a run for others to read (the outliers of
	// the intrinsic run, which the ablation's runs disable).
	kindAnalysis = "analysis"
)

// prep is work that runs read and may share, a stage of its own: a
// subspace extracted another way (the sweeps', the unified one) or an
// analysis of a run. A run lists its preps in runSpec.needs; run alone
// (not as a stage of a schedule) it does them first, under the
// reproduction's preparation lock.
type prep struct {
	dir    string   // the stage's directory, for its stage.json, lock and log
	kind   string   // kindExtract or kindAnalysis
	out    string   // the file it writes atomically, last: done once it exists
	reads  []string // the directories of the runs it reads
	inputs string   // what decides its result beyond those runs, for its key
	make   func() error
}

// ReportStage is the id of the last stage, which writes the report.
const ReportStage = "report"

// stageFile records, in a finished stage's directory, the key of the
// inputs it ran from.
const stageFile = "stage.json"

// node is one stage of the graph: its id (the stage directory relative to
// the output folder), what it runs and the stages it needs.
type node struct {
	id   string
	kind string
	job  job       // kindRun
	prep *prep     // a prep's stage
	p    *pipeline // kindRun, kindExtract
	deps []*node
	key  string
	in   string // the inputs the key is derived from (stageInputs)
}

// graph is every stage of a reproduction, in an order where each stage
// comes after the stages it depends on.
type graph struct {
	nodes []*node
	byID  map[string]*node
}

// dir is the stage's own directory: the run's, the extraction's, or the
// output folder for the report.
func (n *node) dir(o Options) string {
	if n.kind == kindReport {
		return o.OutputDir
	}
	return filepath.Join(o.OutputDir, n.id)
}

// done reports whether the stage's outputs are all there.
func (n *node) done() bool {
	switch {
	case n.prep != nil:
		_, err := os.Stat(n.prep.out)
		return err == nil
	case n.kind == kindRun:
		return n.job.cached()
	case n.kind == kindExtract:
		_, err := os.Stat(n.p.basisPath())
		return err == nil
	}
	_, err := os.Stat(filepath.Join(n.p.o.OutputDir, "REPORT.md"))
	return err == nil
}

// buildGraph lists every stage: the full runs, each pipeline's extraction,
// the other runs, and the report. Runs planned before the full runs have
// finished use the trajectory lengths the schedule predicts.
func (r *reproduction) buildGraph() (*graph, error) {
	g := &graph{byID: map[string]*node{}}
	var full []job
	for _, p := range r.pipes {
		full = append(full, job{p, p.mainSpec(report.Full)})
	}
	later, err := r.laterJobs()
	if err != nil {
		return nil, err
	}
	jobs := dedupe(append(full, later...))
	// Trajectory-recording runs first: the extractions and every other
	// run read their trajectories.
	slices.SortStableFunc(jobs, func(a, b job) int { return boolOrder(b.spec.trajectory) - boolOrder(a.spec.trajectory) })
	for _, j := range jobs {
		if j.spec.trajectory {
			g.add(&node{id: r.rel(j.dir()), kind: kindRun, job: j, p: j.p})
		}
	}
	for _, p := range r.pipes {
		g.add(&node{id: r.rel(filepath.Join(p.dir, "extract")), kind: kindExtract, p: p,
			deps: []*node{g.byID[r.rel(p.runDir(report.Full))]}})
	}
	for _, j := range jobs {
		if j.spec.trajectory {
			continue
		}
		n := &node{id: r.rel(j.dir()), kind: kindRun, job: j, p: j.p, deps: g.runDeps(r, j)}
		for i := range j.spec.needs {
			d, err := g.addPrep(r, &j.spec.needs[i])
			if err != nil {
				return nil, fmt.Errorf("run %s: %w", n.id, err)
			}
			n.deps = append(n.deps, d)
		}
		g.add(n)
	}
	report := &node{id: ReportStage, kind: kindReport, p: r.pipes[0], deps: slices.Clone(g.nodes)}
	g.add(report)
	if err := r.setKeys(g); err != nil {
		return nil, err
	}
	return g, nil
}

func boolOrder(b bool) int {
	if b {
		return 1
	}
	return 0
}

// addPrep is the stage of p, added after the runs it reads unless an
// earlier run needed it too.
func (g *graph) addPrep(r *reproduction, p *prep) (*node, error) {
	id := r.rel(p.dir)
	if n, ok := g.byID[id]; ok {
		return n, nil
	}
	n := &node{id: id, kind: p.kind, prep: p}
	for _, dir := range p.reads {
		d, ok := g.byID[r.rel(dir)]
		if !ok {
			return nil, fmt.Errorf("stage %s reads %s, which no stage before it makes", id, r.rel(dir))
		}
		n.deps = append(n.deps, d)
	}
	g.add(n)
	return n, nil
}

func (g *graph) add(n *node) {
	g.nodes = append(g.nodes, n)
	g.byID[n.id] = n
}

// rel is path relative to the output folder: a stage's id.
func (r *reproduction) rel(path string) string {
	rel, err := filepath.Rel(r.o.OutputDir, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(rel)
}

// runDeps are the stages a run reads: the subspaces it is trained in (its
// own, the source task's for transfer, every task's for the unified
// subspace, whose extraction needs every full run), its pipeline's
// trajectories; the preps it needs (runSpec.needs) are added apart. The full
// runs and the two that need no subspace (freeze, and the random subspace
// of the unified analysis's dimension) start at once.
func (g *graph) runDeps(r *reproduction, j job) []*node {
	p, m := j.p, j.spec.method
	extract := func(q *pipeline) *node { return g.byID[r.rel(filepath.Join(q.dir, "extract"))] }
	switch {
	case m == report.Freeze || m == unifiedRandom(len(r.o.Tasks)):
		return nil
	case strings.HasPrefix(m, report.Transfer("")):
		return []*node{extract(r.pipe(strings.TrimPrefix(m, report.Transfer("")), p.seed))}
	case m == report.Unified || m == report.ZeroShot:
		var deps []*node
		for _, task := range r.o.Tasks {
			deps = append(deps, extract(r.pipe(task, p.seed)))
		}
		return deps
	}
	deps := []*node{extract(p)}
	for _, n := range g.nodes {
		if n.kind == kindRun && n.p == p && n.job.spec.trajectory && n.job.spec.method != report.Full {
			deps = append(deps, n)
		}
	}
	return deps
}

// stageInputs renders the options that decide a stage's result.
func (r *reproduction) stageInputs(n *node) (string, error) {
	pr := r.o.Profile
	switch {
	case n.prep != nil:
		return fmt.Sprintf("out=%s %s", r.rel(n.prep.out), n.prep.inputs), nil
	case n.kind == kindExtract:
		return fmt.Sprintf("rows=%s dim=%d", pr.Rows, pr.Dim), nil
	case n.kind == kindReport:
		return fmt.Sprintf("analyses=%v dims=%v lengths=%v", r.o.Analyses, r.o.Dims, r.o.Lengths), nil
	}
	s := n.job.spec
	a, err := n.p.args(s)
	if err != nil {
		return "", err
	}
	// Where it runs and how many threads it uses do not change what it
	// computes (the threads change sums' order, not their meaning).
	a.OutputDir, a.Threads, a.ModelNameOrPath = n.id, 0, ""
	args, err := json.Marshal(a)
	if err != nil {
		return "", err
	}
	in := fmt.Sprintf("%s\ndata=%s\nmethod=%s random=%d freeze=%t ensemble=%d subspace_lr=%g",
		args, r.o.DataDir, s.method, s.random, s.freeze, pr.Ensemble, pr.SubspaceLR)
	if s.initStd != nil {
		// Only when set, so that the keys of runs made before it existed hold.
		in += fmt.Sprintf(" init_std=%g", *s.initStd)
	}
	return in, nil
}

// modelHash is the SHA-256 of the model folder's files, read once, but
// for those written for readers (see forReaders): a corrected model card
// does not make the runs from its weights stale.
func (r *reproduction) modelHash() (string, error) {
	if r.modelSum != "" {
		return r.modelSum, nil
	}
	entries, err := os.ReadDir(r.o.Model)
	if err != nil {
		return "", fmt.Errorf("model %s: %w", r.o.Model, err)
	}
	h := sha256.New()
	for _, e := range entries {
		if !e.Type().IsRegular() || forReaders(e.Name()) {
			continue
		}
		f, err := os.Open(filepath.Join(r.o.Model, e.Name()))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\n", e.Name())
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("model %s: %w", r.o.Model, err)
		}
	}
	r.modelSum = hex.EncodeToString(h.Sum(nil))
	return r.modelSum, nil
}

// forReaders reports whether a model folder's file is there for people, not
// for a run: the model card and other Markdown, figures, and the training
// log a pre-training export writes beside the weights.
func forReaders(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".md", ".png", ".svg":
		return true
	}
	return name == "training_log.json"
}
