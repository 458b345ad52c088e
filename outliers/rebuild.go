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
	"runtime"
	"strconv"
	"strings"

	"github.com/subtune/subtune/jsonnum"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
)

// readCoordinatesMeta reads the metadata of a run's coordinates file.
func readCoordinatesMeta(path string) (map[string]string, error) {
	f, err := safetensors.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist: not the output of a subspace run ('subtune finetune --subspace FILE' or '--random_subspace KIND' writes it; --freeze_encoder learns no update)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the subspace coordinates: %w", err)
	}
	defer f.Close()
	meta := f.Metadata()
	if meta["kind"] == "" || meta["basis_id"] == "" {
		return nil, fmt.Errorf("%s records no basis (metadata kind %q, basis_id %q): not a subspace coordinates file", path, meta["kind"], meta["basis_id"])
	}
	return meta, nil
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

// basisCandidate is one way the run's basis may have been held in memory.
type basisCandidate struct {
	dtype safetensors.DType // "" for the file's own, or Fastfood
	build func(dtype safetensors.DType) (*subspace.Basis, error)
}

// rebuildUpdate rebuilds every layer's Δ = Vᵀz̄ from the basis the
// coordinates name. The run may have kept its basis in float32 or, with
// --subspace_dtype bf16, in bfloat16, which changes V (and so Δ) at the
// bfloat16 rounding and is recorded nowhere: each storage is tried in turn
// and the one whose Δ matches the saved weights (θ_final − θ0) is kept.
func rebuildUpdate(o RunOptions, coords string, meta map[string]string, theta0, final *model.Model, log io.Writer) ([][]float32, Source, error) {
	c := theta0.Config
	L, D := c.NumHiddenLayers, c.LayerSize()
	var src Source
	src.BasisKind, src.BasisID = meta["kind"], meta["basis_id"]
	if n, _ := strconv.Atoi(meta["num_layers"]); n != L {
		return nil, src, fmt.Errorf("%s is for %s encoder layers, the base model has %d: not the run's base model (pass --model)", coords, meta["num_layers"], L)
	}
	if n, _ := strconv.Atoi(meta["layer_size"]); n != D {
		return nil, src, fmt.Errorf("%s is for layers of %s parameters, the base model's have %d: not the run's base model (pass --model)", coords, meta["layer_size"], D)
	}
	opts := subspace.DefaultOptions()
	var err error
	if opts.Ensemble, err = strconv.Atoi(meta["ensemble"]); err != nil {
		return nil, src, fmt.Errorf("%s: ensemble %q: %w", coords, meta["ensemble"], err)
	}
	if opts.Seed, err = strconv.ParseUint(meta["seed"], 10, 64); err != nil {
		return nil, src, fmt.Errorf("%s: seed %q: %w", coords, meta["seed"], err)
	}
	if s := meta["init_std"]; s != "" {
		if opts.InitStd, err = strconv.ParseFloat(s, 64); err != nil {
			return nil, src, fmt.Errorf("%s: init_std %q: %w", coords, s, err)
		}
	}

	var pinned safetensors.DType
	switch strings.ToLower(o.DType) {
	case "", "auto":
	case "f32", "float32":
		pinned = safetensors.F32
	case "bf16", "bfloat16":
		pinned = safetensors.BF16
	default:
		return nil, src, fmt.Errorf("--subspace_dtype %q: want auto, f32 or bf16", o.DType)
	}
	var cands []basisCandidate
	switch kind := meta["kind"]; kind {
	case subspace.KindIntrinsic:
		path := o.Basis
		if path == "" {
			path = meta["basis"]
			if _, err := os.Stat(path); err != nil {
				return nil, src, fmt.Errorf("the run's subspace file %s (recorded in %s) is not found from here (a path relative to where the run was started?): pass it with --basis: %w", path, coords, err)
			}
		}
		src.Basis = path
		build := func(dt safetensors.DType) (*subspace.Basis, error) {
			return subspace.LoadBasis(path, subspace.ExpectFor(theta0, dt))
		}
		cands = []basisCandidate{{"", build}, {safetensors.BF16, build}}
	case subspace.KindDense, subspace.KindFastfood, subspace.KindSAID:
		var dims []int
		if err := json.Unmarshal([]byte(meta["dims"]), &dims); err != nil || len(dims) == 0 {
			return nil, src, fmt.Errorf("%s: dims %q: want a JSON list of the blocks' dimensions", coords, meta["dims"])
		}
		seed, err := strconv.ParseUint(meta["basis_seed"], 10, 64)
		if err != nil {
			return nil, src, fmt.Errorf("%s: basis_seed %q: %w", coords, meta["basis_seed"], err)
		}
		build := func(dt safetensors.DType) (*subspace.Basis, error) {
			return subspace.NewRandomBasis(kind, L, D, dims[0], seed, dt)
		}
		src.Basis = meta["basis"]
		if kind == subspace.KindDense {
			cands = []basisCandidate{{safetensors.F32, build}, {safetensors.BF16, build}}
		} else {
			cands = []basisCandidate{{"", build}}
		}
	default:
		return nil, src, fmt.Errorf("%s: basis kind %q: want intrinsic, dense, fastfood or said", coords, kind)
	}

	if pinned != "" && len(cands) > 1 {
		cands = []basisCandidate{{pinned, cands[0].build}}
	}
	var best [][]float32
	bestErr, bestDType := math.Inf(1), safetensors.DType("")
	tried := map[safetensors.DType]bool{}
	for _, cand := range cands {
		if cand.dtype != "" && tried[cand.dtype] {
			continue // the file's own storage was already bfloat16
		}
		// A basis already tried is garbage now; free it before building
		// the next (BERT-base's is 10.9 GB in float32).
		runtime.GC()
		b, err := cand.build(cand.dtype)
		if err != nil {
			return nil, src, err
		}
		tried[b.DType] = true
		if b.ID() != meta["basis_id"] {
			return nil, src, fmt.Errorf("the basis %s is not the one the run trained in: its id is %s, %s records %s (re-extracted since?)",
				b.Source, b.ID(), coords, meta["basis_id"])
		}
		r, err := subspace.New(theta0, b, opts)
		if err != nil {
			return nil, src, err
		}
		if err := r.Load(coords); err != nil {
			return nil, src, err
		}
		deltas := make([][]float32, L)
		for l := range deltas {
			deltas[l] = r.Update(l, nil)
		}
		if final == nil {
			src.BasisDType = string(b.DType)
			return deltas, src, nil
		}
		rel, ok := reconstructionError(theta0, final, deltas)
		fmt.Fprintf(log, "basis %s held as %s: ‖(θ_final − θ0) − Δ‖/‖Δ‖ = %s\n", b.Source, dtypeName(b.DType), relErrText(rel))
		if ok {
			src.BasisDType, src.ReconstructionError = string(b.DType), jsonnum.Finite(rel)
			return deltas, src, nil
		}
		if rel < bestErr {
			best, bestErr, bestDType = deltas, rel, b.DType
		}
	}
	if bestErr <= 1e-2 {
		fmt.Fprintf(log, "warning: the rebuilt update matches the run's weights only to %s (relative); analysing it anyway\n", relErrText(bestErr))
		src.BasisDType, src.ReconstructionError = string(bestDType), jsonnum.Finite(bestErr)
		return best, src, nil
	}
	return nil, src, fmt.Errorf("the update rebuilt from %s and %s does not reproduce the run's weights in %s (relative error %s): the base model %s is probably not the run's θ0 (pass --model)",
		src.Basis, coords, o.Run, relErrText(bestErr), theta0Name(o))
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
