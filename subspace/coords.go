package subspace

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trajectory"
)

// The coordinates file SaveCoordinates writes: one [h, d] tensor "<block>.z" per block
// (and "<block>.lambda", [1], for SAID), with Coordinates as its metadata.
const (
	coordFormat  = "subtune-subspace-coordinates"
	zSuffix      = ".z"
	lambdaSuffix = ".lambda"
)

// Coordinates describes a coordinates file: the subspace a run trained in
// and how, everything needed to rebuild the run's update Vᵀz̄ from the file
// and the basis. SaveCoordinates writes it and ReadCoordinates reads it; both live
// here so that no other package reads the metadata by its keys.
type Coordinates struct {
	Kind  string `json:"kind"`           // KindIntrinsic, KindDense, KindFastfood or KindSAID
	Scope string `json:"scope"`          // ScopeLayer, ScopeMatrix or ScopeGlobal
	Rows  string `json:"rows,omitempty"` // intrinsic bases: the rows they were extracted from

	Basis       string `json:"basis"`                  // the basis file (intrinsic), or a description of the random basis
	BasisID     string `json:"basis_id"`               // Basis.ID
	BasisSHA256 string `json:"basis_sha256,omitempty"` // intrinsic bases: SHA-256 of the basis file; "" in files written before it was recorded
	// BasisDType is how the run held the basis's directions in memory, F32
	// or BF16 (--subspace_dtype): it changes V, and so the update, at the
	// bfloat16 rounding. Empty for Fastfood, which computes its directions,
	// and in files written before it was recorded.
	BasisDType safetensors.DType `json:"basis_dtype,omitempty"`
	BasisSeed  uint64            `json:"basis_seed"` // random bases: the seed that regenerates them

	Theta0SHA256 string  `json:"basis_theta0_sha256,omitempty"` // intrinsic bases: the θ0 they were extracted around
	NumLayers    int     `json:"num_layers"`
	LayerSize    int     `json:"layer_size"`
	Dims         []int   `json:"d"`        // d of every block, in coordinate order
	Ensemble     int     `json:"h"`        // h, the copies of every coordinate
	InitStd      float64 `json:"init_std"` // the copies' initial standard deviation
	Seed         uint64  `json:"seed"`     // the copies' initial draw
}

// Metadata keys of the coordinates file (format, version, kind, scope,
// rows, theta0_sha256, num_layers and layer_size are the basis file's).
const (
	coordBasis       = "basis"
	coordBasisID     = "basis_id"
	coordBasisSHA256 = "basis_sha256"
	coordBasisDType  = "basis_dtype"
	coordBasisSeed   = "basis_seed"
	coordDims        = "dims"
	coordEnsemble    = "ensemble"
	coordInitStd     = "init_std"
	coordSeed        = "seed"
)

func (c *Coordinates) metadata() map[string]string {
	dims, _ := json.Marshal(c.Dims)
	meta := map[string]string{
		metaFormat: coordFormat, metaVersion: strconv.Itoa(formatVersion),
		metaKind: c.Kind, metaScope: c.Scope, coordBasis: c.Basis, coordBasisID: c.BasisID,
		coordBasisSeed: strconv.FormatUint(c.BasisSeed, 10), metaTheta0: c.Theta0SHA256,
		coordEnsemble: strconv.Itoa(c.Ensemble), coordInitStd: strconv.FormatFloat(c.InitStd, 'g', -1, 64),
		coordSeed: strconv.FormatUint(c.Seed, 10), coordDims: string(dims),
		metaNumLayers: strconv.Itoa(c.NumLayers), metaLayerSize: strconv.Itoa(c.LayerSize),
	}
	for k, v := range map[string]string{metaRows: c.Rows, coordBasisSHA256: c.BasisSHA256, coordBasisDType: string(c.BasisDType)} {
		if v != "" {
			meta[k] = v
		}
	}
	return meta
}

// ReadCoordinates reads the description of the coordinates file at path.
// Files written before the basis's SHA-256, dtype and rows were recorded
// read with those fields empty.
func ReadCoordinates(path string) (*Coordinates, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("subspace: reading the coordinates: %w", err)
	}
	defer f.Close()
	return parseCoordinates(path, f.Metadata())
}

func parseCoordinates(path string, meta map[string]string) (*Coordinates, error) {
	if meta[metaFormat] != coordFormat {
		return nil, fmt.Errorf("subspace: %s: not a subspace coordinates file (format %q)", path, meta[metaFormat])
	}
	if v := meta[metaVersion]; v != strconv.Itoa(formatVersion) {
		return nil, fmt.Errorf("subspace: %s: coordinates version %q, want %d", path, v, formatVersion)
	}
	c := &Coordinates{Kind: meta[metaKind], Scope: meta[metaScope], Rows: meta[metaRows],
		Basis: meta[coordBasis], BasisID: meta[coordBasisID], BasisSHA256: meta[coordBasisSHA256],
		BasisDType: safetensors.DType(meta[coordBasisDType]), Theta0SHA256: meta[metaTheta0]}
	var errs []error
	need := func(key string, parse func(string) error) {
		v, ok := meta[key]
		if !ok {
			errs = append(errs, fmt.Errorf("metadata %s is missing", key))
			return
		}
		if err := parse(v); err != nil {
			errs = append(errs, fmt.Errorf("metadata %s %q: %w", key, v, err))
		}
	}
	str := func(dst *string) func(string) error {
		return func(v string) error {
			if *dst = v; v == "" {
				return errors.New("empty")
			}
			return nil
		}
	}
	positive := func(dst *int) func(string) error {
		return func(v string) error {
			n, err := strconv.Atoi(v)
			if err == nil && n <= 0 {
				err = errors.New("want a positive number")
			}
			*dst = n
			return err
		}
	}
	u64 := func(dst *uint64) func(string) error {
		return func(v string) (err error) { *dst, err = strconv.ParseUint(v, 10, 64); return err }
	}
	need(metaKind, str(&c.Kind))
	need(coordBasisID, str(&c.BasisID))
	need(metaNumLayers, positive(&c.NumLayers))
	need(metaLayerSize, positive(&c.LayerSize))
	need(coordEnsemble, positive(&c.Ensemble))
	need(coordSeed, u64(&c.Seed))
	need(coordBasisSeed, u64(&c.BasisSeed))
	need(coordDims, func(v string) error {
		if err := json.Unmarshal([]byte(v), &c.Dims); err != nil || len(c.Dims) == 0 {
			return errors.New("want a JSON list of the blocks' dimensions")
		}
		return nil
	})
	if v, ok := meta[coordInitStd]; ok {
		need(coordInitStd, func(string) (err error) { c.InitStd, err = strconv.ParseFloat(v, 64); return err })
	} else {
		c.InitStd = DefaultOptions().InitStd
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("subspace: %s: %w", path, err)
	}
	return c, nil
}

// Coordinates describes r: what its coordinates file records, and what an
// adapter built on r records about its subspace.
func (r *Reparam) Coordinates() (*Coordinates, error) {
	b := r.basis
	dims := make([]int, len(b.blocks))
	for i, bl := range b.blocks {
		dims[i] = bl.dim
	}
	if b.Kind == KindIntrinsic && r.basisSHA256 == "" {
		sum, err := trajectory.HashFile(b.Source)
		if err != nil {
			return nil, fmt.Errorf("subspace: hashing the basis: %w", err)
		}
		r.basisSHA256 = sum
	}
	return &Coordinates{Kind: b.Kind, Scope: b.Scope, Rows: b.Rows,
		Basis: b.Source, BasisID: b.ID(), BasisSHA256: r.basisSHA256, BasisDType: b.DType, BasisSeed: b.Seed,
		Theta0SHA256: b.Theta0Hash, NumLayers: b.NumLayers, LayerSize: b.LayerSize,
		Dims: dims, Ensemble: r.opts.Ensemble, InitStd: r.opts.InitStd, Seed: r.opts.Seed}, nil
}

// Tensors are what r learned, as SaveCoordinates stores them: one [h, d] tensor
// "<block>.z" per block (and "<block>.lambda", [1], for SAID). They share
// r's memory.
func (r *Reparam) Tensors() map[string]safetensors.Tensor {
	h := r.opts.Ensemble
	ts := map[string]safetensors.Tensor{}
	for bi, bl := range r.basis.blocks {
		ts[bl.name+zSuffix] = safetensors.Tensor{DType: safetensors.F32, Shape: []int{h, bl.dim},
			F32: r.Z[r.zOff[bi] : r.zOff[bi]+h*bl.dim]}
		if r.Lambda != nil {
			ts[bl.name+lambdaSuffix] = safetensors.Tensor{DType: safetensors.F32, Shape: []int{1}, F32: r.Lambda[bi : bi+1]}
		}
	}
	return ts
}

// SetTensors reads back what Tensors names, through read, which fills dst
// with the tensor name (of dst's length) or fails.
func (r *Reparam) SetTensors(read func(name string, dst []float32) error) error {
	for name, t := range r.Tensors() {
		if err := read(name, t.F32); err != nil {
			return fmt.Errorf("subspace: %w", err)
		}
	}
	return nil
}

// SaveCoordinates writes the copies (and λ) to path, described by
// Coordinates.
func (r *Reparam) SaveCoordinates(path string) error {
	c, err := r.Coordinates()
	if err != nil {
		return err
	}
	if err := safetensors.Write(path, r.Tensors(), c.metadata()); err != nil {
		return fmt.Errorf("subspace: %w", err)
	}
	return nil
}

// LoadCoordinates restores what SaveCoordinates wrote. The file must come
// from a Reparam over the same basis with the same ensemble size.
func (r *Reparam) LoadCoordinates(path string) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return fmt.Errorf("subspace: %w", err)
	}
	defer f.Close()
	return r.load(path, f)
}

// load restores the coordinates in f; path names it. On error r's
// coordinates may be partly overwritten.
func (r *Reparam) load(path string, f *safetensors.File) error {
	c, err := parseCoordinates(path, f.Metadata())
	if err != nil {
		return err
	}
	b := r.basis
	if c.BasisID != b.ID() {
		return fmt.Errorf("subspace: %s: the coordinates belong to basis %s (%s), this run uses %s (%s)", path, c.Basis, c.BasisID, b.Source, b.ID())
	}
	if h := r.opts.Ensemble; c.Ensemble != h {
		return fmt.Errorf("subspace: %s: the coordinates have %d copies per coordinate, this run %d (--ensemble)", path, c.Ensemble, h)
	}
	if err := r.SetTensors(f.ReadFloat32Into); err != nil {
		return err
	}
	// A NaN would train on silently and spread to every weight.
	if i := firstNonFinite(r.Z); i >= 0 {
		return fmt.Errorf("subspace: %s: coordinate %d is not a finite number", path, i)
	}
	if i := firstNonFinite(r.Lambda); i >= 0 {
		return fmt.Errorf("subspace: %s: λ of block %d is not a finite number", path, i)
	}
	return nil
}
