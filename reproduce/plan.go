package reproduce

import (
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/report"
)

// PlanStage is one stage of a reproduction's graph as `subtune reproduce
// --plan` prints it: enough for any scheduler to run the graph.
type PlanStage struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`    // run, extract, analysis or report
	Command   string   `json:"command"` // runs this stage alone, once DependsOn have finished
	DependsOn []string `json:"depends_on"`
	// Cost estimates the stage's work in training examples × epochs (0
	// for an extraction or the report; null when the task's data is
	// missing, Note says why).
	Cost     *float64 `json:"cost"`
	Done     bool     `json:"done"`
	Key      string   `json:"key"` // of the inputs the result depends on
	Threads  int      `json:"threads"`
	MemoryMB int      `json:"memory_mb"` // an estimate, for a scheduler's request
	Note     string   `json:"note,omitempty"`
}

// Plan lists every stage of the reproduction o, in an order where each
// comes after those it depends on, without running or writing anything.
func Plan(o Options) ([]PlanStage, error) {
	r, err := newReproduction(o)
	if err != nil {
		return nil, err
	}
	g, err := r.buildGraph()
	if err != nil {
		return nil, err
	}
	return r.planStages(g)
}

func (r *reproduction) planStages(g *graph) ([]PlanStage, error) {
	cfg, _, err := model.ReadConfig(filepath.Join(r.o.Model, "config.json"))
	if err != nil {
		return nil, err
	}
	var out []PlanStage
	for _, n := range g.nodes {
		s := PlanStage{ID: n.id, Kind: n.kind, Command: shellJoin(r.o.stageCommand(n.id)), DependsOn: []string{},
			Done: n.done(), Key: n.key, Threads: r.o.stageThreads(), MemoryMB: r.memoryMB(cfg, n)}
		for _, d := range n.deps {
			s.DependsOn = append(s.DependsOn, d.id)
		}
		cost := 0.0
		if n.kind == kindRun {
			ex, err := n.p.trainExamples()
			if err != nil {
				s.Note = fmt.Sprintf("no training data for %s: %v", n.p.task.Name, err)
				out = append(out, s)
				continue
			}
			cost = float64(ex) * r.o.Profile.Epochs
		}
		s.Cost = &cost
		out = append(out, s)
	}
	return out, nil
}

// stageThreads is each stage's share of the threads: --threads (all cores
// when 0) split among --jobs.
func (o Options) stageThreads() int {
	t := o.Threads
	if t <= 0 {
		t = runtime.NumCPU()
	}
	return max(1, t/max(1, o.Jobs))
}

// stageCommand is the command line that runs stage id alone.
func (o Options) stageCommand(id string) []string {
	return append(o.stagePrefix(), "--stage", id, "--threads", strconv.Itoa(o.stageThreads()))
}

// stagePrefix is every stage's command line without --stage and --threads.
func (o Options) stagePrefix() []string {
	return append([]string{o.Executable}, o.StageArgs...)
}

// memoryMB estimates a stage's peak memory: the model with its gradients,
// AdamW's moments and the workspace of a training batch
// (model.Config.Footprint), the subspace a run trains in (d columns of
// every layer's parameters) or the trajectory an extraction holds (t
// checkpoints of one layer), and a fixed allowance for the runtime and the
// data; rounded up with a quarter's margin.
func (r *reproduction) memoryMB(c model.Config, n *node) int {
	pr := r.o.Profile
	use := model.Usage{Train: n.kind == kindRun, Batch: pr.BatchSize, SeqLen: 128, BF16: r.o.BF16}
	bytes, _ := c.Footprint(model.SequenceClassification, use)
	h, i := float64(c.HiddenSize), float64(c.IntermediateSize)
	layer := 4*h*h + 2*h*i + 9*h + i
	d := float64(pr.Dim)
	if d == 0 {
		d = float64(pr.maxCheckpoints())
	}
	switch {
	case n.kind == kindExtract:
		bytes += float64(pr.maxCheckpoints()) * layer * 4
	case n.kind == kindRun && !n.job.spec.trajectory && n.job.spec.method != report.Freeze:
		bytes += d * layer * float64(c.NumHiddenLayers) * 4
	}
	bytes = bytes*1.25 + 512<<20
	return int(math.Ceil(bytes / (1 << 20)))
}

// shellJoin quotes args for a POSIX shell.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
