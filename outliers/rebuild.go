package outliers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/subtune/subtune/jsonnum"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
	"github.com/subtune/subtune/trajectory"
)

// readCoordinates reads the description of a run's coordinates file.
func readCoordinates(path string) (*subspace.Coordinates, error) {
	c, err := subspace.ReadCoordinates(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist: not the output of a subspace run ('subtune finetune --subspace FILE' or '--random_subspace KIND' writes it; --freeze_encoder learns no update)", path)
	}
	return c, err
}

// runBaseModel is θ0's folder: --model, or what the run's
// training_args.json records.
func runBaseModel(o RunOptions) (string, error) {
	if o.Model != "" {
		return o.Model, nil
	}
	path := filepath.Join(o.Run, "training_args.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s does not exist (a run writes it when training ends): pass the base model with --model", path)
	}
	if err != nil {
		return "", err
	}
	var a struct {
		ModelNameOrPath string `json:"model_name_or_path"`
	}
	if err := json.Unmarshal(data, &a); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if a.ModelNameOrPath == "" {
		return "", fmt.Errorf("%s records no model_name_or_path: pass the base model with --model", path)
	}
	if _, err := os.Stat(a.ModelNameOrPath); err != nil {
		return "", fmt.Errorf("the run's base model %s (model_name_or_path in %s) is not found from here (a path relative to where the run was started?): pass it with --model: %w",
			a.ModelNameOrPath, path, err)
	}
	return a.ModelNameOrPath, nil
}

// basisDType is how the run held its basis in memory: what the
// coordinates record, or for files written before they recorded it what
// --subspace_dtype says. Fastfood keeps no directions and needs none.
func basisDType(o RunOptions, coords string, c *subspace.Coordinates) (safetensors.DType, error) {
	var pinned safetensors.DType
	switch strings.ToLower(o.DType) {
	case "", "auto":
	case "f32", "float32":
		pinned = safetensors.F32
	case "bf16", "bfloat16":
		pinned = safetensors.BF16
	default:
		return "", fmt.Errorf("--subspace_dtype %q: want auto, f32 or bf16", o.DType)
	}
	switch {
	case c.Kind == subspace.KindFastfood || c.Kind == subspace.KindSAID:
		return "", nil
	case c.BasisDType != "" && pinned != "" && pinned != c.BasisDType:
		return "", fmt.Errorf("--subspace_dtype %s, but %s records that the run held its basis as %s", o.DType, coords, c.BasisDType)
	case c.BasisDType != "":
		return c.BasisDType, nil
	case pinned != "":
		return pinned, nil
	}
	return "", fmt.Errorf("%s does not record how the run held its basis (metadata basis_dtype; written by an older subtune): pass --subspace_dtype f32 or bf16", coords)
}

// runBasis rebuilds the basis the run trained in: the file the coordinates
// name (or --basis), checked against the SHA-256 they record, or the random
// basis their recipe regenerates.
func runBasis(o RunOptions, coords string, c *subspace.Coordinates, theta0 *model.Model) (*subspace.Basis, error) {
	dt, err := basisDType(o, coords, c)
	if err != nil {
		return nil, err
	}
	L, D := theta0.Config.NumHiddenLayers, theta0.Config.LayerSize()
	var b *subspace.Basis
	switch c.Kind {
	case subspace.KindIntrinsic:
		path := o.Basis
		if path == "" {
			path = c.Basis
			if _, err := os.Stat(path); err != nil {
				return nil, fmt.Errorf("the run's subspace file %s (recorded in %s) is not found from here (a path relative to where the run was started?): pass it with --basis: %w", path, coords, err)
			}
		}
		if c.BasisSHA256 != "" {
			sum, err := trajectory.HashFile(path)
			if err != nil {
				return nil, err
			}
			if sum != c.BasisSHA256 {
				return nil, fmt.Errorf("the basis %s is not the one the run trained in: its SHA-256 is %.12s…, %s records %.12s… (re-extracted since?)",
					path, sum, coords, c.BasisSHA256)
			}
		}
		b, err = subspace.LoadBasis(path, subspace.ExpectFor(theta0, dt))
	case subspace.KindDense, subspace.KindFastfood, subspace.KindSAID:
		if len(c.Dims) != L {
			return nil, fmt.Errorf("%s: %d dimensions recorded for a model of %d layers", coords, len(c.Dims), L)
		}
		b, err = subspace.NewRandomBasisDims(c.Kind, D, c.Dims, c.BasisSeed, dt)
	default:
		return nil, fmt.Errorf("%s: basis kind %q: want intrinsic, dense, fastfood or said", coords, c.Kind)
	}
	if err != nil {
		return nil, err
	}
	if b.ID() != c.BasisID {
		return nil, fmt.Errorf("the basis %s is not the one the run trained in: its id is %s, %s records %s (re-extracted since?)",
			b.Source, b.ID(), coords, c.BasisID)
	}
	return b, nil
}

// rebuildUpdate rebuilds every layer's Δ = Vᵀz̄ from the basis the
// coordinates name, held as the run held it, and checks it against the
// saved weights (θ_final − θ0) when there are some.
func rebuildUpdate(o RunOptions, coords string, c *subspace.Coordinates, theta0, final *model.Model, log io.Writer) ([][]float32, Source, error) {
	L, D := theta0.Config.NumHiddenLayers, theta0.Config.LayerSize()
	src := Source{BasisKind: c.Kind, BasisID: c.BasisID, Basis: c.Basis}
	if c.NumLayers != L {
		return nil, src, fmt.Errorf("%s is for %d encoder layers, the base model has %d: not the run's base model (pass --model)", coords, c.NumLayers, L)
	}
	if c.LayerSize != D {
		return nil, src, fmt.Errorf("%s is for layers of %d parameters, the base model's have %d: not the run's base model (pass --model)", coords, c.LayerSize, D)
	}
	b, err := runBasis(o, coords, c, theta0)
	if err != nil {
		return nil, src, err
	}
	if c.Kind == subspace.KindIntrinsic {
		src.Basis = b.Source
	}
	opts := subspace.DefaultOptions()
	opts.Ensemble, opts.Seed, opts.InitStd = c.Ensemble, c.Seed, c.InitStd
	r, err := subspace.New(theta0, b, opts)
	if err != nil {
		return nil, src, err
	}
	if err := r.LoadCoordinates(coords); err != nil {
		return nil, src, err
	}
	deltas := make([][]float32, L)
	for l := range deltas {
		deltas[l] = r.Update(l, nil)
	}
	src.BasisDType = string(b.DType)
	if final == nil {
		return deltas, src, nil
	}
	rel, ok := reconstructionError(theta0, final, deltas)
	fmt.Fprintf(log, "basis %s held as %s: ‖(θ_final − θ0) − Δ‖/‖Δ‖ = %s\n", b.Source, dtypeName(b.DType), relErrText(rel))
	src.ReconstructionError = jsonnum.Finite(rel)
	switch {
	case ok:
	case rel <= 1e-2:
		fmt.Fprintf(log, "warning: the rebuilt update matches the run's weights only to %s (relative); analysing it anyway\n", relErrText(rel))
	default:
		return nil, src, fmt.Errorf("the update rebuilt from %s and %s does not reproduce the run's weights in %s (relative error %s): the base model %s is probably not the run's θ0 (pass --model)",
			src.Basis, coords, o.Run, relErrText(rel), theta0Name(o))
	}
	return deltas, src, nil
}

// reconstructionError compares final's encoder with θ0 + Δ: it returns
// ‖(θ_final − θ0) − Δ‖/‖Δ‖ and whether that is within float32 rounding of
// the weights plus 1e-4 of the update.
func reconstructionError(theta0, final *model.Model, deltas [][]float32) (float64, bool) {
	var e2, d2, f2 float64
	for l, d := range deltas {
		a, b := theta0.Layer(l), final.Layer(l)
		for i, v := range d {
			x := float64(b[i]) - float64(a[i]) - float64(v)
			e2 += x * x
			d2 += float64(v) * float64(v)
			f2 += float64(b[i]) * float64(b[i])
		}
	}
	e, dn := math.Sqrt(e2), math.Sqrt(d2)
	ok := e <= 1e-4*dn+0x1p-23*math.Sqrt(f2)
	if dn == 0 {
		return math.Inf(1), ok
	}
	return e / dn, ok
}

// relErrText formats a relative error, a *float64 (nil: not checked) or a
// float64.
func relErrText(x any) string {
	switch v := x.(type) {
	case *float64:
		if v == nil {
			return "not checked"
		}
		return relErrText(*v)
	case float64:
		if math.IsInf(v, 0) {
			return "undefined (the update is zero)"
		}
		return fmt.Sprintf("%.2g", v)
	}
	return fmt.Sprint(x)
}

func dtypeName(dt safetensors.DType) string {
	if dt == "" {
		return "Fastfood"
	}
	return string(dt)
}

func theta0Name(o RunOptions) string {
	if o.Model != "" {
		return o.Model
	}
	return "in training_args.json"
}
