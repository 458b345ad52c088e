package outliers

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/internal/argcheck"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/subspace"
	"github.com/subtune/subtune/trajectory"
)

// RunOptions are the options of `subtune outliers`; its error messages name
// them by their flags.
type RunOptions struct {
	Run    string  // the subspace run's output directory (or one of its checkpoints)
	Output string  // where the files go; default Run
	Sigma  float64 // threshold in standard deviations
	Top    int     // hidden dimensions listed, ≥ 1
	Model  string  // θ0's folder, if not training_args.json's
	Basis  string  // the basis file, if not where the coordinates say
	DType  string  // how the run held its basis: auto, f32 or bf16
}

// DefaultTop is how many hidden dimensions `subtune outliers` lists.
const DefaultTop = 10

// Validate checks o's numbers, naming their flags.
func (o RunOptions) Validate() error {
	var e argcheck.Errors
	e.Float("--sigma", o.Sigma, argcheck.Positive)
	e.Int("--top", o.Top, argcheck.Positive)
	return e.Err()
}

// AnalyzeRun is `subtune outliers`: it rebuilds the learned update of the
// subspace run in o.Run, analyses it (Outliers), prints the tables to
// stdout and progress to log, and writes FileName, outliers.md and the two
// figures into o.Output. It lives here rather than in the command so that
// `subtune reproduce --analyses outliers` runs the very same analysis.
func AnalyzeRun(o RunOptions, stdout, log io.Writer) (*Result, error) {
	if o.Run == "" {
		return nil, errors.New("--run is required (the output directory of a subspace fine-tuning run)")
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Output == "" {
		o.Output = o.Run
	}
	coords := filepath.Join(o.Run, subspace.CoordinatesFile)
	coord, err := readCoordinates(coords)
	if err != nil {
		return nil, err
	}
	modelDir, err := runBaseModel(o)
	if err != nil {
		return nil, err
	}
	theta0, _, err := checkpoint.Load(modelDir, model.NoHead, checkpoint.Options{})
	if err != nil {
		return nil, fmt.Errorf("loading the base model θ0: %w", err)
	}
	c := theta0.Config
	L, D := c.NumHiddenLayers, c.LayerSize()
	fmt.Fprintf(log, "run: %s\nbase model θ0: %s (%d layers × %d parameters)\n", o.Run, modelDir, L, D)

	// The run's final encoder, θ0 + Δ, to check the rebuilt update against.
	var final *model.Model
	if _, err := os.Stat(filepath.Join(o.Run, "config.json")); err == nil {
		if final, _, err = checkpoint.Load(o.Run, model.NoHead, checkpoint.Options{}); err != nil {
			return nil, fmt.Errorf("loading the run's fine-tuned model: %w", err)
		}
		if final.Config.NumHiddenLayers != L || final.Config.LayerSize() != D {
			return nil, fmt.Errorf("the model in %s has %d layers of %d parameters, the base model %s %d of %d: not the run's base model (pass --model)",
				o.Run, final.Config.NumHiddenLayers, final.Config.LayerSize(), modelDir, L, D)
		}
	} else {
		fmt.Fprintf(log, "warning: no model saved in %s; the rebuilt update is not checked against the run's weights\n", o.Run)
	}

	deltas, src, err := rebuildUpdate(o, coords, coord, theta0, final, log)
	if err != nil {
		return nil, err
	}
	src.Run, src.Model, src.Theta0SHA256 = o.Run, modelDir, trajectory.HashLayers(theta0)
	res, err := Outliers(deltas, LayoutFor(c), o.Sigma)
	if err != nil {
		return nil, err
	}

	title := fmt.Sprintf("Outliers of %s (%s basis, %gσ)", filepath.Base(filepath.Clean(o.Run)), src.BasisKind, o.Sigma)
	fmt.Fprintf(stdout, "## %s\n\n%s\n", title, res.Markdown(o.Top))
	if err := os.MkdirAll(o.Output, 0o755); err != nil {
		return nil, err
	}
	jsonPath := filepath.Join(o.Output, FileName)
	if err := WriteFile(jsonPath, res, src); err != nil {
		return nil, err
	}
	md := fmt.Sprintf("# %s\n\nRun: `%s`  \nBase model θ0: `%s` (θ0 SHA-256 %.12s…)  \nBasis: %s (%s, id %s)  \nRebuilt update vs the run's weights: relative error %s\n\n%s\n![outliers per layer](outliers.png)\n\n![recurring dimensions](outlier_dims.png)\n",
		title, o.Run, modelDir, src.Theta0SHA256, src.Basis, src.BasisKind, src.BasisID, relErrText(src.ReconstructionError), res.Markdown(o.Top))
	mdPath := filepath.Join(o.Output, "outliers.md")
	if err := atomicfile.WriteFile(mdPath, func(w io.Writer) error {
		_, err := io.WriteString(w, md)
		return err
	}); err != nil {
		return nil, err
	}
	written := []string{jsonPath, mdPath}
	p, err := res.Plot(title+": max |Δ−mean|/std per hidden dimension", filepath.Join(o.Output, "outliers"))
	written = append(written, p...)
	if err != nil {
		return nil, err
	}
	p, err = res.PlotRecurrence(title+": hidden dimensions across layers", filepath.Join(o.Output, "outlier_dims"), o.Top)
	written = append(written, p...)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "wrote %s\n", strings.Join(written, ", "))
	fmt.Fprintf(log, "ablation (paper Table 3): subtune finetune ... --disable_dims outliers:%s\n", jsonPath)
	fmt.Fprintf(log, "its control:              subtune finetune ... --disable_dims random:%d\n", res.Count)
	return res, nil
}
