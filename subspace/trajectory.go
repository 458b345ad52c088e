package subspace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/trajectory"
)

// Trajectory is what extraction reads: t checkpoints of an encoder with
// NumLayers layers of LayerSize numbers each, and the θ0 they started from.
// Implementations check their own data (hashes) as they read it.
type Trajectory interface {
	NumCheckpoints() int
	NumLayers() int
	LayerSize() int
	// LayerTensors places the parameter tensors inside a layer's vector,
	// in order; the matrix scope extracts one subspace per tensor.
	LayerTensors() model.LayerLayout
	// ReadLayer reads layer l of checkpoint k (0 ≤ k < NumCheckpoints).
	ReadLayer(k, l int, dst []float32) error
	ReadTheta0(l int, dst []float32) error
	// Theta0Hash is the hex SHA-256 of θ0's layers as trajectory.HashLayers
	// computes it; extraction recomputes it from ReadTheta0 and refuses a
	// trajectory whose θ0 does not match.
	Theta0Hash() string
	// Source names the trajectory in messages and in the output's metadata.
	Source() string
}

// DeltaReader is implemented by trajectories that can return θk − θ0
// directly. When DeltasStored reports true the extraction reads deltas
// through it, which avoids rounding θk (a bfloat16 trajectory stores the
// delta, and θk = θ0 + delta would lose most of the delta's bits).
type DeltaReader interface {
	DeltasStored() bool
	ReadDelta(k, l int, dst []float32) error
}

// Forker is implemented by trajectories that can open an independent
// reader of the same data, so that several checkpoints are read (and
// hashed, and decoded) at once.
type Forker interface {
	Fork() (Trajectory, error)
}

// DirTrajectory is a trajectory directory written by `subtune finetune
// --save_trajectory`, read through package trajectory: every layer read is
// checked against the SHA-256 the manifest records for it.
type DirTrajectory struct {
	r *trajectory.Reader
}

// OpenTrajectory opens the trajectory in dir.
func OpenTrajectory(dir string) (*DirTrajectory, error) {
	r, err := trajectory.Open(dir)
	if err != nil {
		return nil, err
	}
	return &DirTrajectory{r: r}, nil
}

func (d *DirTrajectory) NumCheckpoints() int { return d.r.NumCheckpoints() }
func (d *DirTrajectory) NumLayers() int      { return d.r.Manifest.NumLayers }
func (d *DirTrajectory) LayerSize() int      { return d.r.Manifest.LayerSize }
func (d *DirTrajectory) Theta0Hash() string  { return d.r.Manifest.BaseModel.Theta0SHA256 }
func (d *DirTrajectory) Source() string      { return d.r.Dir }
func (d *DirTrajectory) Close() error        { return d.r.Close() }

func (d *DirTrajectory) LayerTensors() model.LayerLayout { return d.r.Manifest.LayerTensors }

// Fork opens a second reader of the same directory, refusing it if the
// manifest changed in between.
func (d *DirTrajectory) Fork() (Trajectory, error) {
	f, err := OpenTrajectory(d.r.Dir)
	if err != nil {
		return nil, err
	}
	a, _ := json.Marshal(d.r.Manifest)
	b, _ := json.Marshal(f.r.Manifest)
	if !bytes.Equal(a, b) {
		f.Close()
		return nil, fmt.Errorf("%s: the trajectory changed while it was being read", d.r.Dir)
	}
	return f, nil
}

func (d *DirTrajectory) ReadLayer(k, l int, dst []float32) error { return d.r.ReadLayer(k, l, dst) }
func (d *DirTrajectory) ReadTheta0(l int, dst []float32) error   { return d.r.ReadTheta0(l, dst) }
func (d *DirTrajectory) ReadDelta(k, l int, dst []float32) error { return d.r.ReadDelta(k, l, dst) }

// DeltasStored reports whether the checkpoint files hold θk − θ0 (bfloat16
// trajectories do).
func (d *DirTrajectory) DeltasStored() bool { return d.r.Manifest.Stored == trajectory.StoredDelta }

// StoredBytes is the size on disk of one layer of one checkpoint.
func (d *DirTrajectory) StoredBytes() int64 {
	if d.r.Manifest.DType == "BF16" {
		return 2 * int64(d.LayerSize())
	}
	return 4 * int64(d.LayerSize())
}

// Metadata describes the run the trajectory comes from, for the output
// file's metadata.
func (d *DirTrajectory) Metadata() map[string]string {
	m := d.r.Manifest
	steps := make([]string, len(m.Checkpoints))
	for i, c := range m.Checkpoints {
		steps[i] = strconv.Itoa(c.Step)
	}
	return map[string]string{
		"trajectory_task":       m.Task,
		"trajectory_seed":       strconv.FormatUint(m.Seed, 10),
		"trajectory_schedule":   m.Schedule,
		"trajectory_dtype":      m.DType,
		"trajectory_base_model": m.BaseModel.Path,
		"trajectory_steps":      "[" + strings.Join(steps, ",") + "]",
	}
}

// checkTrajectory validates the shape a trajectory reports.
func checkTrajectory(tr Trajectory) error {
	t, L, D := tr.NumCheckpoints(), tr.NumLayers(), tr.LayerSize()
	if t < 1 || L < 1 || D < 1 {
		return fmt.Errorf("%s: %d checkpoints of %d layers of %d numbers: nothing to extract", tr.Source(), t, L, D)
	}
	if err := tr.LayerTensors().Check(D); err != nil {
		return fmt.Errorf("%s: %w", tr.Source(), err)
	}
	return nil
}
