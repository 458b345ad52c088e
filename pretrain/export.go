package pretrain

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/figure"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/report"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/tokenizer"
	"github.com/subtune/subtune/trainloop"
)

// ExportOptions describe the model folder a pre-training run becomes.
type ExportOptions struct {
	Run          string // the pre-training output_dir
	Output       string // the model folder to write
	TokenizerDir string
	DType        safetensors.DType // storage of the weights (F16 halves the size)
	Name         string            // model name for the card
	Corpus       string            // corpus description for the card
	Command      string            // the pre-training command, for the card
	// Downstream are fine-tuning runs (output dirs with eval_results.json)
	// to tabulate in the card, by label, e.g. "pre-trained SST-2".
	Downstream []DownstreamRun
	// Notes is Markdown appended after the downstream table: what the
	// numbers mean, how the run was stopped and resumed.
	Notes string
}

// DownstreamRun is one fine-tuning result quoted in the model card.
type DownstreamRun struct {
	Model, Task, Metric, Dir, Command string
}

// Export writes the newest checkpoint of a pre-training run, checked against
// the checksums recorded when it was written, as a
// HuggingFace folder with its pre-training heads (BertForMaskedLM, or
// BertForPreTraining after next-sentence prediction), the learning curve as
// PNG and SVG, the training log as JSON, and a model card README.md built
// from those numbers.
func Export(o ExportOptions) error {
	dir, ok := trainloop.LatestCheckpoint(o.Run)
	if !ok {
		return fmt.Errorf("%s has no checkpoint to export", o.Run)
	}
	// A shipped model is only as good as the files it came from.
	if err := trainloop.VerifyCheckpoint(dir); err != nil {
		return fmt.Errorf("exporting %s: %w", dir, err)
	}
	var st State
	data, err := os.ReadFile(filepath.Join(dir, "trainer_state.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	// A run with next-sentence prediction keeps its pooler and classifier,
	// as bert-base-uncased's weights do; fine-tuning starts from the pooler.
	head := model.MaskedLM
	weights, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return err
	}
	if _, ok := weights.Info("cls.seq_relationship.weight"); ok {
		head = model.PreTraining
	}
	weights.Close()
	m, _, err := checkpoint.Load(dir, head, checkpoint.Options{})
	if err != nil {
		return err
	}
	if err := checkpoint.Save(o.Output, m, o.DType); err != nil {
		return err
	}
	tok, err := tokenizer.Load(o.TokenizerDir)
	if err != nil {
		return err
	}
	if err := tok.Save(o.Output); err != nil {
		return err
	}
	if err := atomicfile.WriteJSON(filepath.Join(o.Output, "training_log.json"), st); err != nil {
		return err
	}
	var steps, loss, evalLoss, evalAcc, nspSteps, nspAcc []float64
	for _, h := range st.History {
		steps = append(steps, float64(h.Step))
		loss = append(loss, h.Loss)
		evalLoss = append(evalLoss, h.EvalLoss)
		evalAcc = append(evalAcc, 100*h.EvalAcc)
		if h.EvalNSPAcc > 0 {
			nspSteps, nspAcc = append(nspSteps, float64(h.Step)), append(nspAcc, 100*h.EvalNSPAcc)
		}
	}
	if len(steps) > 0 {
		if _, err := figure.LinePlot([]figure.Series{{Label: "train loss", X: steps, Y: loss}, {Label: "held-out loss", X: steps, Y: evalLoss, Dashed: true}},
			"Masked-LM loss", "step", "cross-entropy", filepath.Join(o.Output, "mlm_loss")); err != nil {
			return err
		}
		acc := []figure.Series{{Label: "held-out masked-LM accuracy", X: steps, Y: evalAcc}}
		if len(nspSteps) > 0 {
			acc = append(acc, figure.Series{Label: "held-out next-sentence accuracy", X: nspSteps, Y: nspAcc, Dashed: true})
		}
		if _, err := figure.LinePlot(acc,
			"Held-out accuracy", "step", "correct predictions (%)", filepath.Join(o.Output, "mlm_accuracy")); err != nil {
			return err
		}
	}
	return atomicfile.WriteFile(filepath.Join(o.Output, "README.md"), func(w io.Writer) error {
		return writeCard(w, o, m, st, dir)
	})
}

func writeCard(w io.Writer, o ExportOptions, m *model.Model, st State, from string) error {
	c := m.Config
	encoder := 0
	for _, t := range m.Tensors {
		if strings.Contains(t.Name, ".encoder.") {
			encoder += t.Size
		}
	}
	hasNSP := slices.ContainsFunc(st.History, func(h LogLine) bool { return h.EvalNSPAcc > 0 })
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", o.Name)
	objective := "masked-LM (as HuggingFace's run_mlm.py)"
	if m.Head == model.PreTraining {
		objective = "masked-LM (as HuggingFace's run_mlm.py) and, in its last phase, BERT's next-sentence prediction"
	}
	fmt.Fprintf(&b, "A small BERT pre-trained from scratch by subtune with %s, "+
		"so that subtune's demo and tests have a *pre-trained* encoder on machines where no published BERT weights can be downloaded.\n\n", objective)
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| architecture | BERT, %d layers, hidden %d, %d heads, FFN %d, %s, max %d positions |\n",
		c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize, c.HiddenAct, c.MaxPositionEmbeddings)
	fmt.Fprintf(&b, "| parameters | %d (encoder layers %d, %d per layer) |\n", m.NumParams(), encoder, c.LayerSize())
	fmt.Fprintf(&b, "| vocabulary | bert-base-uncased WordPiece, %d tokens |\n", c.VocabSize)
	fmt.Fprintf(&b, "| weights | model.safetensors, %s |\n", o.DType)
	fmt.Fprintf(&b, "| corpus | %s |\n", o.Corpus)
	fmt.Fprintf(&b, "| training | %d steps, %d tokens seen, %.0f minutes of wall time on 2 CPU cores |\n",
		st.Step, st.TokensSeen, st.WallSeconds/60)
	fmt.Fprintf(&b, "| exported from | `%s` |\n\n", filepath.ToSlash(from))
	fmt.Fprintf(&b, "Pre-training command (resumed with `--resume` after each stop):\n\n```sh\n%s\n```\n\n", o.Command)
	b.WriteString("## Learning curve\n\nMasked-token loss and accuracy on 512 held-out sequences of at most 128 tokens (the same masks at every evaluation; " +
		"the held-out unit is a block, a line or a line pair as the phase trains on)")
	if hasNSP {
		b.WriteString("; with next-sentence prediction, the accuracy of telling a line's next line from a random one on the held-out pairs (half of each)")
	}
	b.WriteString(".\n\n")
	b.WriteString("![loss](mlm_loss.png) ![accuracy](mlm_accuracy.png)\n\n")
	rows := [][]string{}
	for _, h := range st.History {
		row := []string{fmt.Sprint(h.Step), fmt.Sprint(h.TokensSeen), fmt.Sprintf("%.0f", h.WallSeconds/60),
			fmt.Sprintf("%.3f", h.Loss), fmt.Sprintf("%.3f", h.EvalLoss), fmt.Sprintf("%.1f", 100*h.EvalAcc)}
		if hasNSP {
			nsp := "" // phases before next-sentence prediction
			if h.EvalNSPAcc > 0 {
				nsp = fmt.Sprintf("%.1f", 100*h.EvalNSPAcc)
			}
			row = append(row, nsp)
		}
		rows = append(rows, row)
	}
	header := []string{"step", "tokens", "minutes", "train loss", "held-out loss", "held-out acc. %"}
	if hasNSP {
		header = append(header, "next-sentence acc. %")
	}
	b.WriteString(report.MarkdownTable(header, rows))
	if len(o.Downstream) > 0 {
		b.WriteString("\n## Downstream: full fine-tuning, pre-trained vs random initialisation\n\n")
		b.WriteString("Same architecture, same fine-tuning settings; the random-initialised model is this one's configuration with transformers' initialisation.\n\n")
		rows = nil
		var cmds []string
		for _, d := range o.Downstream {
			val := "—"
			if data, err := os.ReadFile(filepath.Join(d.Dir, "eval_results.json")); err == nil {
				var res map[string]any
				if json.Unmarshal(data, &res) == nil {
					if v, ok := res["eval_"+d.Metric].(float64); ok {
						val = fmt.Sprintf("%.4f", v)
					}
				}
			}
			rows = append(rows, []string{d.Model, d.Task, d.Metric, val, "`" + filepath.ToSlash(d.Dir) + "`"})
			cmds = append(cmds, d.Command)
		}
		b.WriteString(report.MarkdownTable([]string{"model", "task (dev)", "metric", "value", "run"}, rows))
		b.WriteString("\nCommands:\n\n```sh\n" + strings.Join(cmds, "\n") + "\n```\n")
	}
	if o.Notes != "" {
		b.WriteString("\n" + strings.TrimSpace(o.Notes) + "\n")
	}
	b.WriteString("\n## Licence\n\nThe weights are derived from the corpus in `../shared/corpus` (sources and licences in its SOURCES.md: " +
		"public-domain, CC BY 4.0, CC BY-SA 3.0 and WordNet-licensed texts); the vocabulary is bert-base-uncased's (Apache-2.0).\n")
	_, err := io.WriteString(w, b.String())
	return err
}
