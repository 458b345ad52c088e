package subspace

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"unsafe"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/nn"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trajectory"
)

// Basis holds the subspaces the encoder is re-parameterised in: one block
// of coordinates per subspace (per layer for the layer scope), each driving
// one or more segments of the encoder's flat parameter vector (layer l
// occupies [l·LayerSize, (l+1)·LayerSize)). A segment either keeps its
// directions explicitly, d rows of its length, in float32 or bfloat16, or
// computes them (Fastfood).
//
// A Basis keeps scratch space for its kernels and is not safe for
// concurrent use.
type Basis struct {
	Kind       string // KindIntrinsic, KindDense, KindFastfood or KindSAID
	Scope      string // ScopeLayer, ScopeMatrix or ScopeGlobal
	Rows       string // intrinsic bases: the rows they were extracted from
	NumLayers  int
	LayerSize  int
	Theta0Hash string // intrinsic bases: the θ0 they belong to; "" for random ones
	Source     string // the file, or a description of a random basis
	Seed       uint64 // random bases
	// DType is how explicit directions are kept in memory: F32 or BF16
	// (bfloat16 halves the memory; the kernels widen to float32 on the fly
	// and accumulate in float32/float64). Empty for Fastfood.
	DType safetensors.DType

	id     string
	blocks []block
	segs   []segment

	// Scratch for the kernels, grown on first use.
	parts []float64
	w, y  []float32
}

type block struct {
	name  string
	layer int // −1: spans every layer
	dim   int
	sigma []float64
	segs  []int
}

type segment struct {
	block  int
	off, n int // in encoder coordinates
	f32    []float32
	b16    []uint16
	ff     *fastfood
}

// Block describes one subspace of a Basis.
type Block struct {
	Name  string    // "layer.3", "layer.3.attention.self.query.weight", "encoder"
	Layer int       // −1 for the global scope's block, which spans every layer
	Dim   int       // coordinates
	Sigma []float64 // singular values of the kept directions (intrinsic bases)
}

// Blocks lists the subspaces in coordinate order.
func (b *Basis) Blocks() []Block {
	out := make([]Block, len(b.blocks))
	for i, bl := range b.blocks {
		out[i] = Block{Name: bl.name, Layer: bl.layer, Dim: bl.dim, Sigma: slices.Clone(bl.sigma)}
	}
	return out
}

// NumCoords is the total number of coordinates (Σ of the blocks' dims).
func (b *Basis) NumCoords() int {
	n := 0
	for _, bl := range b.blocks {
		n += bl.dim
	}
	return n
}

// ID identifies the basis's content: the metadata and singular values of
// an extracted file, or the recipe of a random basis. Saved coordinates
// record it so they are never loaded against another basis.
func (b *Basis) ID() string { return b.id }

// Bytes is the memory the basis holds.
func (b *Basis) Bytes() int64 {
	var n int64
	for _, s := range b.segs {
		n += 4*int64(len(s.f32)) + 2*int64(len(s.b16))
		if s.ff != nil {
			n += int64(s.ff.bytes())
		}
	}
	return n
}

// Expand sets dst = base + Σ_blocks V_bᵀ x[b] over the encoder's flat
// vector (base nil: zero). x[b] holds block b's coordinates.
func (b *Basis) Expand(dst, base []float32, x [][]float32) {
	for i := range b.segs {
		s := &b.segs[i]
		var bs []float32
		if base != nil {
			bs = base[s.off : s.off+s.n]
		}
		b.expandSeg(s, dst[s.off:s.off+s.n], bs, x[s.block])
	}
}

// Project sets dst[b] = V_b g for every block: the coordinates' share of a
// vector g over the encoder (a gradient, say).
func (b *Basis) Project(dst [][]float32, g []float32) {
	for bi, bl := range b.blocks {
		acc := make([]float64, bl.dim)
		for _, si := range bl.segs {
			s := &b.segs[si]
			b.projectSeg(s, acc, g[s.off:s.off+s.n])
		}
		for i, v := range acc {
			dst[bi][i] = float32(v)
		}
	}
}

// expandSeg sets dst = base + Vᵀx on one segment (slices of its length).
func (b *Basis) expandSeg(s *segment, dst, base, x []float32) {
	switch {
	case s.ff != nil:
		b.w = grow(b.w, s.ff.l)
		b.y = grow(b.y, s.ff.dp)
		s.ff.expand(dst, base, x, b.w, b.y)
	case s.b16 != nil:
		nn.ParallelFor(numBlocks(s.n), 2*len(x)*colBlock, func(lo, hi int) {
			expandBF16(dst, base, s.b16, s.n, x, lo*colBlock, min(hi*colBlock, s.n))
		})
	default:
		nn.ParallelFor(numBlocks(s.n), 2*len(x)*colBlock, func(lo, hi int) {
			expandF32(dst, base, s.f32, s.n, x, lo*colBlock, min(hi*colBlock, s.n))
		})
	}
}

// projectSeg adds V g to acc on one segment. Each thread sums its columns
// into its own slot of b.parts; the slots are added in a fixed order, so
// the result depends only on the thread count.
func (b *Basis) projectSeg(s *segment, acc []float64, g []float32) {
	if s.ff != nil {
		b.w = grow(b.w, s.ff.l)
		b.parts = grow(b.parts, nn.Chunks(s.ff.l, 4)*s.ff.dp)
		s.ff.project(acc, g, b.w, b.parts)
		return
	}
	d := len(acc)
	nb, cost := numBlocks(s.n), 2*d*colBlock
	chunks := nn.Chunks(nb, cost)
	b.parts = grow(b.parts, chunks*d)
	parts := b.parts[:chunks*d]
	clear(parts)
	if s.b16 != nil {
		nn.ParallelForIndexed(nb, cost, func(c, lo, hi int) {
			projectBF16(parts[c*d:(c+1)*d], s.b16, s.n, g, lo*colBlock, min(hi*colBlock, s.n))
		})
	} else {
		nn.ParallelForIndexed(nb, cost, func(c, lo, hi int) {
			projectF32(parts[c*d:(c+1)*d], s.f32, s.n, g, lo*colBlock, min(hi*colBlock, s.n))
		})
	}
	for c := 0; c < chunks; c++ {
		for i, v := range parts[c*d : (c+1)*d] {
			acc[i] += v
		}
	}
}

// numBlocks is the number of colBlock-wide column blocks of n columns.
func numBlocks(n int) int { return (n + colBlock - 1) / colBlock }

// grow returns s with length at least n, reallocating only when needed.
func grow[T any](s []T, n int) []T {
	if len(s) >= n {
		return s
	}
	return make([]T, n)
}

// Expect is what a basis must match to be used with a model.
type Expect struct {
	NumLayers, LayerSize int
	// Theta0Hash is the model encoder's trajectory.HashLayers; an
	// intrinsic basis extracted around another θ0 is refused. Empty skips
	// the check.
	Theta0Hash string
	// LayerTensors, when set, must equal the file's layer layout.
	LayerTensors model.LayerLayout
	// DType is the in-memory storage wanted: F32, BF16, or empty for the
	// file's own.
	DType safetensors.DType
}

// ExpectFor is what a basis must match to re-parameterise m's encoder as
// it is now (its current weights are θ0), kept in memory as dtype (empty:
// as stored).
func ExpectFor(m *model.Model, dtype safetensors.DType) Expect {
	c := m.Config
	return Expect{NumLayers: c.NumHiddenLayers, LayerSize: c.LayerSize(), Theta0Hash: trajectory.HashLayers(m),
		LayerTensors: m.LayerLayout(), DType: dtype}
}

// IsBasisFile reports whether the file at path is a subspace file written
// by Extract, by its metadata; any other file, or none, is not.
func IsBasisFile(path string) bool {
	f, err := safetensors.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Metadata()[metaFormat] == formatName
}

// LoadBasis reads a basis file written by Extract, checking it against
// want. Every mismatch is an error naming the file.
func LoadBasis(path string, want Expect) (*Basis, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("subspace: %w", err)
	}
	defer f.Close()
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("subspace: %w", err)
	}
	defer fh.Close()
	return readBasis(path, f, fh, want)
}

// readBasis reads the basis in f, whose bytes fh holds; path names it.
func readBasis(path string, f *safetensors.File, fh io.ReaderAt, want Expect) (*Basis, error) {
	rd := &basisReader{path: path, f: f, fh: fh}
	lts, err := rd.readHeader(want)
	if err != nil {
		return nil, err
	}
	if err := rd.readBlocks(lts); err != nil {
		return nil, err
	}
	rd.b.id = fileID(f.Metadata(), rd.b.blocks)
	return rd.b, nil
}

// basisReader reads a basis file in two steps: the header (metadata,
// checked against what the caller expects), then the blocks of its scope.
type basisReader struct {
	path string
	f    *safetensors.File
	fh   io.ReaderAt
	b    *Basis // the basis read so far
}

// fail is an error naming the file.
func (rd *basisReader) fail(format string, args ...any) error {
	return fmt.Errorf("subspace: %s: %s", rd.path, fmt.Sprintf(format, args...))
}

// readHeader checks the metadata against want, starts rd.b without its
// blocks and returns the file's layer layout.
func (rd *basisReader) readHeader(want Expect) (model.LayerLayout, error) {
	meta := rd.f.Metadata()
	if meta[metaFormat] != formatName {
		return nil, rd.fail("not a subspace file (metadata format %q, want %q; make one with `subtune extract`)", meta[metaFormat], formatName)
	}
	if v := meta[metaVersion]; v != strconv.Itoa(formatVersion) {
		return nil, rd.fail("subspace file version %q, this subtune reads %d", v, formatVersion)
	}
	L, err1 := strconv.Atoi(meta[metaNumLayers])
	D, err2 := strconv.Atoi(meta[metaLayerSize])
	if err1 != nil || err2 != nil || L <= 0 || D <= 0 {
		return nil, rd.fail("invalid num_layers %q or layer_size %q", meta[metaNumLayers], meta[metaLayerSize])
	}
	if want.NumLayers != 0 && L != want.NumLayers {
		return nil, rd.fail("the basis has %d encoder layers, the model %d", L, want.NumLayers)
	}
	if want.LayerSize != 0 && D != want.LayerSize {
		return nil, rd.fail("the basis has %d parameters per layer, the model %d (a different architecture)", D, want.LayerSize)
	}
	if want.Theta0Hash != "" && meta[metaTheta0] != want.Theta0Hash {
		return nil, rd.fail("the basis was extracted around θ0 %.12s…, but the model's encoder hashes to %.12s… (a different base model)",
			meta[metaTheta0], want.Theta0Hash)
	}
	var lts model.LayerLayout
	if err := json.Unmarshal([]byte(meta[metaLayerTensors]), &lts); err != nil {
		return nil, rd.fail("layer_tensors: %v", err)
	}
	if err := lts.Check(D); err != nil {
		return nil, rd.fail("layer_tensors: %v", err)
	}
	if want.LayerTensors != nil && !lts.Equal(want.LayerTensors) {
		return nil, rd.fail("the basis's layer layout differs from the model's")
	}
	dt := want.DType
	if dt == "" {
		dt = safetensors.DType(meta[metaDType])
	}
	if dt != safetensors.F32 && dt != safetensors.BF16 {
		return nil, rd.fail("in-memory dtype %q: want F32 or BF16", dt)
	}
	rd.b = &Basis{Kind: KindIntrinsic, Scope: meta[metaScope], Rows: meta[metaRows], NumLayers: L, LayerSize: D,
		Theta0Hash: meta[metaTheta0], Source: rd.path, DType: dt}
	return lts, nil
}

// readBlocks reads the blocks of rd.b's scope and their segments: one
// block per layer, per tensor of each layer (lts) or for the whole encoder.
func (rd *basisReader) readBlocks(lts model.LayerLayout) error {
	L, D := rd.b.NumLayers, rd.b.LayerSize
	switch rd.b.Scope {
	case ScopeLayer:
		for l := 0; l < L; l++ {
			bi, err := rd.addBlock(layerName(l), l)
			if err != nil {
				return err
			}
			if err := rd.addSeg(bi, layerName(l)+basisSuffix, l*D, D); err != nil {
				return err
			}
		}
	case ScopeMatrix:
		for l := 0; l < L; l++ {
			for _, lt := range lts {
				name := layerName(l) + "." + lt.Name
				bi, err := rd.addBlock(name, l)
				if err != nil {
					return err
				}
				if err := rd.addSeg(bi, name+basisSuffix, l*D+lt.Offset, lt.Size); err != nil {
					return err
				}
			}
		}
	case ScopeGlobal:
		bi, err := rd.addBlock(encoderName, -1)
		if err != nil {
			return err
		}
		for l := 0; l < L; l++ {
			if err := rd.addSeg(bi, layerName(l)+basisSuffix, l*D, D); err != nil {
				return err
			}
		}
	default:
		return rd.fail("unknown scope %q", rd.b.Scope)
	}
	return nil
}

// addBlock reads the singular values of block name (of layer, -1 for the
// whole encoder) and returns the block's index.
func (rd *basisReader) addBlock(name string, layer int) (int, error) {
	sig, err := rd.f.Float32(name + sigmaSuffix)
	if err != nil {
		return 0, fmt.Errorf("subspace: %w", err)
	}
	bl := block{name: name, layer: layer, dim: len(sig)}
	for _, v := range sig {
		if !(v >= 0) || math.IsInf(float64(v), 0) {
			return 0, rd.fail("%s: singular value %v: want a finite number ≥ 0", name+sigmaSuffix, v)
		}
		bl.sigma = append(bl.sigma, float64(v))
	}
	if bl.dim == 0 {
		return 0, rd.fail("%s has no directions", name)
	}
	rd.b.blocks = append(rd.b.blocks, bl)
	return len(rd.b.blocks) - 1, nil
}

// addSeg reads the directions of block bi over the n encoder numbers from
// off, stored in tensor.
func (rd *basisReader) addSeg(bi int, tensor string, off, n int) error {
	b := rd.b
	info, ok := rd.f.Info(tensor)
	d := b.blocks[bi].dim
	if !ok || len(info.Shape) != 2 || info.Shape[0] != d || info.Shape[1] != n {
		return rd.fail("tensor %s is missing or not [%d, %d]", tensor, d, n)
	}
	s := segment{block: bi, off: off, n: n}
	if err := readRows(rd.f, rd.fh, tensor, info, b.DType, &s); err != nil {
		return rd.fail("%s: %v", tensor, err)
	}
	if i := firstOutOfRange(s.f32, s.b16); i >= 0 {
		return rd.fail("%s: element %d is not a number of magnitude at most %g, as every entry of a unit direction is", tensor, i, maxEntry)
	}
	b.blocks[bi].segs = append(b.blocks[bi].segs, len(b.segs))
	b.segs = append(b.segs, s)
	return nil
}

// maxEntry bounds the entries of a basis file's directions: no entry of a
// unit vector exceeds 1, and the margin covers rounding (bfloat16 rounds 1
// up to 1.0078) and rows a little off unit length.
const maxEntry = 1.1

// firstOutOfRange returns the index of the first entry of the explicit
// directions (one of f32 and b16 is set) that is NaN or larger in
// magnitude than maxEntry, or −1. A corrupted exponent shows up here
// instead of as infinities in the weights.
func firstOutOfRange(f32 []float32, b16 []uint16) int {
	for i, v := range f32 {
		if !(math.Abs(float64(v)) <= maxEntry) {
			return i
		}
	}
	for i, v := range b16 {
		if !(math.Abs(float64(safetensors.BF16ToF32(v))) <= maxEntry) {
			return i
		}
	}
	return -1
}

// firstNonFinite returns the index of the first NaN or infinity in x, or −1.
func firstNonFinite(x []float32) int {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return i
		}
	}
	return -1
}

// readRows loads one basis tensor into s in the wanted storage type.
// Bfloat16 data kept as bfloat16 is read straight into its final slice.
func readRows(f *safetensors.File, fh io.ReaderAt, name string, info safetensors.TensorInfo, dt safetensors.DType, s *segment) error {
	n := int(info.NumElements())
	switch {
	case dt == safetensors.BF16 && info.DType == safetensors.BF16:
		s.b16 = make([]uint16, n)
		if n == 0 {
			return nil
		}
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&s.b16[0])), 2*n)
		if _, err := fh.ReadAt(raw, f.DataOffset()+info.Begin); err != nil && err != io.EOF {
			return err
		}
		if !littleEndian {
			for i := range s.b16 {
				s.b16[i] = binary.LittleEndian.Uint16(raw[2*i:])
			}
		}
		return nil
	case dt == safetensors.BF16:
		tmp := make([]float32, n)
		if err := f.ReadFloat32Into(name, tmp); err != nil {
			return err
		}
		s.b16 = make([]uint16, n)
		safetensors.F32ToBF16Slice(s.b16, tmp)
		return nil
	default:
		s.f32 = make([]float32, n)
		return f.ReadFloat32Into(name, s.f32)
	}
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// fileID hashes a file's metadata and singular values.
func fileID(meta map[string]string, blocks []block) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		fmt.Fprintf(h, "%s=%s\n", k, meta[k])
	}
	var buf [8]byte
	for _, bl := range blocks {
		for _, v := range bl.sigma {
			binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
			h.Write(buf[:])
		}
	}
	return "intrinsic:" + hex.EncodeToString(h.Sum(nil))[:32]
}
