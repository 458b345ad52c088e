package subspace

import (
	"fmt"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/trajectory"
)

// RebuildBasis builds the basis c describes for the model m, whose encoder
// is the θ0 the coordinates were trained around: an intrinsic basis read
// from file (c.Basis when file is ""), refused unless its SHA-256 is the
// one c records; a random basis regenerated from its kind, seed and d.
// Either way the basis must be the one c names (its ID).
func RebuildBasis(c *Coordinates, file string, m *model.Model) (*Basis, error) {
	var b *Basis
	var err error
	switch c.Kind {
	case KindIntrinsic:
		if file == "" {
			file = c.Basis
		}
		if err := checkBasisFile(c, file); err != nil {
			return nil, err
		}
		b, err = LoadBasis(file, ExpectFor(m, c.BasisDType))
	case KindDense, KindFastfood, KindSAID:
		if len(c.Dims) == 0 {
			return nil, fmt.Errorf("subspace: the %s basis records no dimension", c.Kind)
		}
		if len(c.Dims) != c.NumLayers {
			return nil, fmt.Errorf("subspace: a %s basis has one d per layer, the coordinates record %d for %d layers", c.Kind, len(c.Dims), c.NumLayers)
		}
		b, err = NewRandomBasisDims(c.Kind, c.LayerSize, c.Dims, c.BasisSeed, c.BasisDType)
	default:
		return nil, fmt.Errorf("subspace: unknown basis kind %q", c.Kind)
	}
	if err != nil {
		return nil, err
	}
	if b.ID() != c.BasisID {
		return nil, fmt.Errorf("subspace: the coordinates belong to basis %s (id %s), but %s has id %s", c.Basis, c.BasisID, b.Source, b.ID())
	}
	return b, nil
}

// checkBasisFile refuses a basis file other than the one c was trained in,
// by its SHA-256, naming both.
func checkBasisFile(c *Coordinates, file string) error {
	if c.BasisSHA256 == "" {
		return nil // written before the hash was recorded; the ID still decides
	}
	sum, err := trajectory.HashFile(file)
	if err != nil {
		return fmt.Errorf("subspace: the basis: %w", err)
	}
	if sum != c.BasisSHA256 {
		return fmt.Errorf("subspace: basis %s has SHA-256 %s, but the coordinates were trained in %s with SHA-256 %s (another basis file)",
			file, sum, c.Basis, c.BasisSHA256)
	}
	return nil
}

// Options are the options of the Reparam c describes.
func (c *Coordinates) Options() Options {
	return Options{Ensemble: c.Ensemble, Seed: c.Seed, InitStd: c.InitStd}
}

// Theta0SHA256 is trajectory.HashLayers of the encoder r was built on.
func (r *Reparam) Theta0SHA256() string {
	h := newLayerHasher()
	h.add(r.theta0)
	return h.sum()
}
