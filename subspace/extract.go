package subspace

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trajectory"
)

// Row choices for the matrix W whose SVD gives the subspace.
const (
	RowsRaw      = "raw"      // θk itself, the paper's literal text
	RowsDelta    = "delta"    // θk − θ0 (default)
	RowsCentered = "centered" // θk − θ0 minus the mean over k
)

// Scopes: what one subspace covers.
const (
	ScopeLayer  = "layer"  // one per encoder layer (the paper's setting)
	ScopeMatrix = "matrix" // one per parameter tensor of each layer
	ScopeGlobal = "global" // one for the whole encoder
)

// ExtractOptions are the choices of `subtune extract`.
type ExtractOptions struct {
	Rows  string            // RowsDelta when empty
	Scope string            // ScopeLayer when empty
	Dim   int               // directions kept per subspace; 0 keeps every numerically non-zero one
	DType safetensors.DType // storage of the bases: F32 (default) or BF16
	Log   io.Writer         // spectra and progress; nil for none
}

func (o *ExtractOptions) normalise() error {
	if o.Rows == "" {
		o.Rows = RowsDelta
	}
	if o.Scope == "" {
		o.Scope = ScopeLayer
	}
	if o.DType == "" {
		o.DType = safetensors.F32
	}
	switch o.Rows {
	case RowsRaw, RowsDelta, RowsCentered:
	default:
		return fmt.Errorf("rows %q: want raw, delta or centered", o.Rows)
	}
	switch o.Scope {
	case ScopeLayer, ScopeMatrix, ScopeGlobal:
	default:
		return fmt.Errorf("scope %q: want layer, matrix or global", o.Scope)
	}
	if o.DType != safetensors.F32 && o.DType != safetensors.BF16 {
		return fmt.Errorf("dtype %q: want F32 or BF16", o.DType)
	}
	if o.Dim < 0 {
		return fmt.Errorf("dim %d: want ≥ 0 (0 keeps all directions)", o.Dim)
	}
	return nil
}

// Spectrum is what extraction found for one subspace.
type Spectrum struct {
	Name  string    // "layer.3", "layer.3.attention.self.query.weight" or "encoder"
	Sigma []float64 // all t singular values, descending
	Rank  int       // numerically non-zero singular values
	Kept  int       // directions written
}

// Explained returns the cumulative fraction of Σσ² carried by the first k
// directions, for k = 1 … t.
func (s Spectrum) Explained() []float64 {
	var total float64
	for _, v := range s.Sigma {
		total += v * v
	}
	out := make([]float64, len(s.Sigma))
	var c float64
	for i, v := range s.Sigma {
		c += v * v
		if total > 0 {
			out[i] = c / total
		}
	}
	return out
}

// ExtractStats reports an extraction.
type ExtractStats struct {
	Spectra      []Spectrum
	T            int           // checkpoints
	BytesRead    int64         // trajectory bytes read, both passes
	BytesWritten int64         // size of the output file
	Pass1, Pass2 time.Duration // Gram matrices; bases
}

// ReadMBps is the trajectory read throughput over the whole extraction.
func (s *ExtractStats) ReadMBps() float64 {
	return float64(s.BytesRead) / 1e6 / (s.Pass1 + s.Pass2).Seconds()
}

// unit is one subspace being extracted: a column range of each layer's
// vector (a whole layer, one tensor, or — global scope — every layer).
type unit struct {
	name   string
	layer  int // −1: every layer (global scope)
	off, n int // columns within a layer
	g      unitGram
	dc     *decomposition
	kept   int
	m, c0  []float64
}

type extractor struct {
	p       *Points
	deltas  bool           // read the points as deltas (a run stores them)
	readers []*pointReader // one per reading goroutine
	o       ExtractOptions
	t, L, D int
	units   []*unit
	w       []float32 // t×D: one layer of every checkpoint, later its basis
	theta0  []float32 // one layer of θ0
	read    int64
	stored  int64 // bytes per checkpoint layer on disk
}

// Extract computes the subspaces spanned by the points p (paper Sec. 3.2) and
// writes them to path as one safetensors file (see the package
// documentation for its layout).
//
// It streams: one layer of every checkpoint is in memory at a time (t×D
// float32, which later holds that layer's basis), plus one layer of θ0.
// θ0's hash is checked first. The first pass reads every layer to build
// the t×t Gram matrices; the singular values and ranks, which the file's
// header must declare, follow from them. The second pass reads every layer
// again and turns it into its basis, V = WᵀUΣ⁻¹, written in the file's
// order. Reading the trajectory twice costs less than the alternatives: a
// header declared before the ranks are known, or a temporary copy of the
// output.
func Extract(p *Points, path string, o ExtractOptions) (*ExtractStats, error) {
	if err := o.normalise(); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	x := &extractor{p: p, o: o, t: p.Len(), L: p.numLayers(), D: p.layerSize(),
		deltas: p.storesDeltas(), stored: p.storedBytes()}
	if o.Rows == RowsCentered && x.t < 2 {
		return nil, fmt.Errorf("%s: centered rows need at least 2 checkpoints, the trajectory has %d", p.name, x.t)
	}
	defer x.closeReaders()
	if err := x.openReaders(); err != nil {
		return nil, err
	}
	x.makeUnits()
	x.w = make([]float32, x.t*x.D)
	x.theta0 = make([]float32, x.D)
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format, args...)
		}
	}
	logf("extracting %s subspaces from %s: t=%d checkpoints × %d layers × %d numbers, rows=%s\n",
		o.Scope, p.name, x.t, x.L, x.D, o.Rows)

	start := time.Now()
	if err := x.checkTheta0(); err != nil {
		return nil, err
	}
	if err := x.pass1(); err != nil {
		return nil, err
	}
	st := &ExtractStats{T: x.t, Pass1: time.Since(start)}
	for _, u := range x.units {
		if err := x.decompose(u); err != nil {
			return nil, err
		}
		st.Spectra = append(st.Spectra, Spectrum{Name: u.name, Sigma: u.dc.sigma, Rank: u.dc.rank, Kept: u.kept})
	}
	x.logSpectra(st.Spectra, logf)

	start = time.Now()
	if err := x.pass2(path); err != nil {
		return nil, err
	}
	st.Pass2 = time.Since(start)
	st.BytesRead = x.read
	if fi, err := os.Stat(path); err == nil {
		st.BytesWritten = fi.Size()
	}
	logf("read %.1f MB of trajectory in %.1f s (%.0f MB/s; Gram pass %.1f s, basis pass %.1f s); wrote %s (%.1f MB, %s)\n",
		float64(st.BytesRead)/1e6, (st.Pass1 + st.Pass2).Seconds(), st.ReadMBps(), st.Pass1.Seconds(), st.Pass2.Seconds(),
		path, float64(st.BytesWritten)/1e6, o.DType)
	return st, nil
}

// openReaders opens one reader per thread (and no more than there are
// points), each reading its share of the points.
func (x *extractor) openReaders() error {
	for len(x.readers) < max(1, min(runtime.GOMAXPROCS(0), x.t)) {
		r, err := x.p.reader(len(x.readers) == 0)
		if err != nil {
			return err
		}
		x.readers = append(x.readers, r)
	}
	return nil
}

func (x *extractor) closeReaders() {
	for _, r := range x.readers {
		r.Close()
	}
}

func (x *extractor) makeUnits() {
	switch x.o.Scope {
	case ScopeLayer:
		for l := 0; l < x.L; l++ {
			x.units = append(x.units, &unit{name: layerName(l), layer: l, n: x.D})
		}
	case ScopeMatrix:
		for l := 0; l < x.L; l++ {
			for _, lt := range x.p.layerTensors() {
				x.units = append(x.units, &unit{name: layerName(l) + "." + lt.Name, layer: l, off: lt.Offset, n: lt.Size})
			}
		}
	case ScopeGlobal:
		x.units = append(x.units, &unit{name: encoderName, layer: -1, n: x.D})
	}
	for _, u := range x.units {
		u.g.dd = make([]float64, x.t*x.t)
		u.g.dt = make([]float64, x.t)
	}
}

// unitsOf lists the units with columns in layer l.
func (x *extractor) unitsOf(l int) []*unit {
	var us []*unit
	for _, u := range x.units {
		if u.layer == l || u.layer < 0 {
			us = append(us, u)
		}
	}
	return us
}

// loadLayer fills w with Δk = θk − θ0 of layer l for every k, and theta0
// with θ0's layer when needTheta0 (or when deltas must be formed from θk).
// Checkpoints are read concurrently, reader r taking k ≡ r (mod readers).
func (x *extractor) loadLayer(l int, needTheta0 bool) error {
	D := x.D
	if needTheta0 || !x.deltas {
		if err := x.readers[0].readTheta0(l, x.theta0); err != nil {
			return err
		}
		x.read += 4 * int64(D)
	}
	errs := make([]error, len(x.readers))
	var wg sync.WaitGroup
	for r, pr := range x.readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := r; k < x.t; k += len(x.readers) {
				row := x.w[k*D : (k+1)*D]
				if x.deltas {
					if errs[r] = pr.readDelta(k, l, row); errs[r] != nil {
						return
					}
					continue
				}
				if errs[r] = pr.readLayer(k, l, row); errs[r] != nil {
					return
				}
				th := x.theta0[:len(row)]
				for j := range row {
					row[j] -= th[j]
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	x.read += int64(x.t) * x.stored
	return nil
}

// checkTheta0 hashes θ0 as trajectory.HashLayers does and compares it with
// the hash the trajectory records, before anything else is read: every
// delta is relative to θ0, and the basis will be bound to that hash.
func (x *extractor) checkTheta0() error {
	h := trajectory.NewLayerHasher()
	for l := 0; l < x.L; l++ {
		if err := x.readers[0].readTheta0(l, x.theta0); err != nil {
			return err
		}
		x.read += 4 * int64(x.D)
		h.Add(x.theta0)
	}
	if got, want := h.Sum(), x.p.theta0Hash(); got != want {
		return fmt.Errorf("%s: θ0 hashes to %.12s…, but the trajectory records %.12s… (θ0 was replaced or is corrupt)",
			x.p.name, got, want)
	}
	return nil
}

// pass1 accumulates every unit's Gram matrix.
func (x *extractor) pass1() error {
	raw := x.o.Rows == RowsRaw
	withTheta0 := raw || !x.deltas
	for l := 0; l < x.L; l++ {
		if err := x.loadLayer(l, raw); err != nil {
			return err
		}
		for _, u := range x.unitsOf(l) {
			addGram(u.g.dd, x.w, x.t, x.D, u.off, u.off+u.n)
			if withTheta0 {
				th := x.theta0[u.off : u.off+u.n]
				for k := 0; k < x.t; k++ {
					u.g.dt[k] += dot64(x.w[k*x.D+u.off:k*x.D+u.off+u.n], th)
				}
				u.g.tt += dot64(th, th)
			}
		}
	}
	return nil
}

// decompose finds u's singular values and how many directions to keep.
func (x *extractor) decompose(u *unit) error {
	t := x.t
	var trace float64
	for k := 0; k < t; k++ {
		trace += u.g.dd[k*t+k]
	}
	stored := u.g.storedEnergy(t, !x.deltas)
	zero := func(lmax float64) float64 { return zeroTolerance(stored, x.unitRoundoff(), u.n, trace, lmax) }
	dc, err := decompose(gramFor(&u.g, x.o.Rows, t), t, zero)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", x.p.name, u.name, err)
	}
	u.dc = dc
	if dc.rank == 0 {
		return fmt.Errorf("%s: %s: the %s rows span nothing (every checkpoint equals θ0 there?)", x.p.name, u.name, x.o.Rows)
	}
	u.kept = dc.rank
	if x.o.Dim > 0 {
		u.kept = min(x.o.Dim, dc.rank)
	}
	u.m, u.c0 = dc.coefficients(x.o.Rows, t, u.kept)
	return nil
}

// pass2 writes the file: every tensor in the order the safetensors layout
// requires, computing a layer's bases the first time one of them is due.
func (x *extractor) pass2(path string) error {
	var specs []safetensors.TensorSpec
	type entry struct {
		u     *unit
		kind  string // "basis", "sigma", "spectrum"
		layer int
	}
	entries := map[string]entry{}
	add := func(name, kind string, u *unit, layer int, dt safetensors.DType, shape ...int) {
		specs = append(specs, safetensors.TensorSpec{Name: name, DType: dt, Shape: shape})
		entries[name] = entry{u: u, kind: kind, layer: layer}
	}
	ranks := map[string]int{}
	for _, u := range x.units {
		ranks[u.name] = u.dc.rank
		add(u.name+sigmaSuffix, "sigma", u, u.layer, safetensors.F32, u.kept)
		add(u.name+spectrumSuffix, "spectrum", u, u.layer, safetensors.F32, x.t)
		if u.layer >= 0 {
			add(u.name+basisSuffix, "basis", u, u.layer, x.o.DType, u.kept, u.n)
			continue
		}
		for l := 0; l < x.L; l++ {
			add(layerName(l)+basisSuffix, "basis", u, l, x.o.DType, u.kept, u.n)
		}
	}
	meta, err := x.metadata(ranks)
	if err != nil {
		return err
	}
	w, err := safetensors.NewWriter(path, specs, meta)
	if err != nil {
		return err
	}
	defer w.Abort()
	cur := -1
	for _, name := range w.Order() {
		e := entries[name]
		u := e.u
		switch e.kind {
		case "sigma", "spectrum":
			n := u.kept
			if e.kind == "spectrum" {
				n = x.t
			}
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(u.dc.sigma[i])
			}
			if err := w.WriteTensor(name, v); err != nil {
				return err
			}
		case "basis":
			if e.layer != cur {
				if err := x.loadLayer(e.layer, x.o.Rows == RowsRaw); err != nil {
					return err
				}
				if err := x.buildBases(e.layer); err != nil {
					return err
				}
				cur = e.layer
			}
			for i := 0; i < u.kept; i++ {
				if err := w.WriteTensor(name, x.w[i*x.D+u.off:i*x.D+u.off+u.n]); err != nil {
					return err
				}
			}
		}
	}
	_, err = w.Close()
	return err
}

// buildBases turns the layer of checkpoints in w into the bases of the
// layer's units: V = WᵀUΣ⁻¹ through the coefficients, then one CholeskyQR
// pass. The pass matters for the smallest kept directions: an error ε in
// the eigenvector of σi adds ε·σ1/σi of the leading direction to Vi, which
// the pass removes, leaving rows orthonormal to float32 precision. A
// global unit's rows run across every layer and are left as computed (its
// rows are orthonormal only as a whole).
func (x *extractor) buildBases(l int) error {
	for _, u := range x.unitsOf(l) {
		applyCoefficients(x.w, x.t, x.D, u.m, u.c0, x.theta0, u.kept, u.off, u.off+u.n)
		if u.layer < 0 {
			continue
		}
		if err := orthonormalize(x.w, u.kept, x.D, u.off, u.off+u.n, 1); err != nil {
			return fmt.Errorf("%s: %s: %w", x.p.name, u.name, err)
		}
	}
	return nil
}

// unitRoundoff is the relative rounding of the numbers the trajectory
// stores: float32 checkpoints, or bfloat16 deltas (2 bytes a number).
func (x *extractor) unitRoundoff() float64 {
	if x.stored < 4*int64(x.D) {
		return 0x1p-8
	}
	return 0x1p-24
}
