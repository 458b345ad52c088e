package trajectory

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/subtune/subtune/safetensors"
)

// ErrCorrupt is wrapped by every error about a trajectory file that does
// not match its manifest (missing, truncated, wrong hash, wrong shape).
var ErrCorrupt = errors.New("trajectory file does not match its manifest")

// Reader reads layers of a trajectory one at a time, so the extraction can
// stream: memory is a layer's bytes plus one layer of scratch. It is not
// safe for concurrent use; Open is cheap, so goroutines reading in parallel
// each open their own.
type Reader struct {
	Dir      string
	Manifest *Manifest

	files map[string]*openFile
	raw   []byte    // one layer's stored bytes
	tmp   []float32 // one layer, for θ0 + delta
}

// Open reads the manifest of the trajectory in dir and checks that every
// file it lists exists with the recorded size (a truncated file is rejected
// here). Contents are checked as they are read.
func Open(dir string) (*Reader, error) {
	man, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	return open(dir, man)
}

// open is Open with the manifest already read.
func open(dir string, man *Manifest) (*Reader, error) {
	r := &Reader{Dir: dir, Manifest: man, files: map[string]*openFile{}}
	for _, e := range r.entries() {
		st, err := os.Stat(filepath.Join(dir, e.File))
		if err != nil {
			return nil, fmt.Errorf("trajectory: %w: %w", ErrCorrupt, err)
		}
		if st.Size() != e.Bytes {
			return nil, fmt.Errorf("trajectory: %w: %s is %d bytes, the manifest says %d (truncated or replaced)",
				ErrCorrupt, filepath.Join(dir, e.File), st.Size(), e.Bytes)
		}
	}
	return r, nil
}

func (r *Reader) entries() []Entry {
	es := []Entry{r.Manifest.Theta0}
	for _, c := range r.Manifest.Checkpoints {
		es = append(es, c.Entry)
	}
	return es
}

// NumCheckpoints is t, the number of saved checkpoints (θ0 not counted).
func (r *Reader) NumCheckpoints() int { return len(r.Manifest.Checkpoints) }

// ReadTheta0 reads layer l of θ0 into dst (len LayerSize).
func (r *Reader) ReadTheta0(l int, dst []float32) error {
	return r.readStored(r.Manifest.Theta0, safetensors.F32, l, dst)
}

// ReadLayer reads layer l of checkpoint k (0 ≤ k < NumCheckpoints) into
// dst: θk's parameters, whatever the storage.
func (r *Reader) ReadLayer(k, l int, dst []float32) error {
	if err := r.checkK(k); err != nil {
		return err
	}
	e := r.Manifest.Checkpoints[k].Entry
	dt := safetensors.DType(r.Manifest.DType)
	if r.Manifest.Stored == StoredRaw {
		return r.readStored(e, dt, l, dst)
	}
	if err := r.ReadTheta0(l, dst); err != nil {
		return err
	}
	tmp := r.scratch()
	if err := r.readStored(e, dt, l, tmp); err != nil {
		return err
	}
	for i, d := range tmp {
		dst[i] += d
	}
	return nil
}

// ReadDelta reads θk − θ0 for layer l into dst. For delta-stored
// trajectories this is the stored value itself, with no extra rounding.
func (r *Reader) ReadDelta(k, l int, dst []float32) error {
	if err := r.checkK(k); err != nil {
		return err
	}
	e := r.Manifest.Checkpoints[k].Entry
	dt := safetensors.DType(r.Manifest.DType)
	if r.Manifest.Stored == StoredDelta {
		return r.readStored(e, dt, l, dst)
	}
	if err := r.readStored(e, dt, l, dst); err != nil {
		return err
	}
	tmp := r.scratch()
	if err := r.ReadTheta0(l, tmp); err != nil {
		return err
	}
	for i, t0 := range tmp {
		dst[i] -= t0
	}
	return nil
}

func (r *Reader) checkK(k int) error {
	if k < 0 || k >= len(r.Manifest.Checkpoints) {
		return fmt.Errorf("trajectory: checkpoint %d out of range [0, %d)", k, len(r.Manifest.Checkpoints))
	}
	return nil
}

func (r *Reader) scratch() []float32 {
	if len(r.tmp) != r.Manifest.LayerSize {
		r.tmp = make([]float32, r.Manifest.LayerSize)
	}
	return r.tmp
}

// openFile is a trajectory file opened once: its parsed header, and a
// handle for reading raw bytes.
type openFile struct {
	st *safetensors.File
	fh *os.File
}

func (r *Reader) file(e Entry) (*openFile, error) {
	if f, ok := r.files[e.File]; ok {
		return f, nil
	}
	path := filepath.Join(r.Dir, e.File)
	st, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trajectory: %w: %w", ErrCorrupt, err)
	}
	fh, err := os.Open(path)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("trajectory: %w: %w", ErrCorrupt, err)
	}
	f := &openFile{st: st, fh: fh}
	r.files[e.File] = f
	return f, nil
}

// readStored reads tensor layer.l of e as stored, checks the bytes against
// the manifest's hash and decodes them into dst.
func (r *Reader) readStored(e Entry, dt safetensors.DType, l int, dst []float32) error {
	D := r.Manifest.LayerSize
	if l < 0 || l >= r.Manifest.NumLayers {
		return fmt.Errorf("trajectory: layer %d out of range [0, %d)", l, r.Manifest.NumLayers)
	}
	if len(dst) != D {
		return fmt.Errorf("trajectory: destination holds %d numbers, a layer has %d", len(dst), D)
	}
	f, err := r.file(e)
	if err != nil {
		return err
	}
	path := filepath.Join(r.Dir, e.File)
	name := TensorName(l)
	ti, ok := f.st.Info(name)
	if !ok || ti.DType != dt || len(ti.Shape) != 1 || ti.Shape[0] != D {
		return fmt.Errorf("trajectory: %w: %s: tensor %s is missing or not %s[%d]", ErrCorrupt, path, name, dt, D)
	}
	n := int(ti.End - ti.Begin)
	if cap(r.raw) < n {
		r.raw = make([]byte, n)
	}
	b := r.raw[:n]
	if _, err := f.fh.ReadAt(b, f.st.DataOffset()+ti.Begin); err != nil {
		return fmt.Errorf("trajectory: %w: reading %s of %s: %w", ErrCorrupt, name, path, err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != e.LayerSHA256[l] {
		return fmt.Errorf("trajectory: %w: %s: tensor %s has SHA-256 %.12s…, the manifest says %.12s…",
			ErrCorrupt, path, name, got, e.LayerSHA256[l])
	}
	switch dt {
	case safetensors.F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case safetensors.BF16:
		for i := range dst {
			dst[i] = safetensors.BF16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	}
	return nil
}

// Verify checks every file's whole-file SHA-256, every layer's SHA-256,
// and that θ0's contents hash to the base model's HashLayers.
func (r *Reader) Verify() error {
	for _, e := range r.entries() {
		path := filepath.Join(r.Dir, e.File)
		got, err := HashFile(path)
		if err != nil {
			return fmt.Errorf("trajectory: %w: %w", ErrCorrupt, err)
		}
		if got != e.SHA256 {
			return fmt.Errorf("trajectory: %w: %s has SHA-256 %.12s…, the manifest says %.12s…", ErrCorrupt, path, got, e.SHA256)
		}
	}
	dt := safetensors.DType(r.Manifest.DType)
	x := r.scratch()
	for _, c := range r.Manifest.Checkpoints {
		for l := 0; l < r.Manifest.NumLayers; l++ {
			if err := r.readStored(c.Entry, dt, l, x); err != nil {
				return err
			}
		}
	}
	h := NewLayerHasher()
	for l := 0; l < r.Manifest.NumLayers; l++ {
		if err := r.ReadTheta0(l, x); err != nil {
			return err
		}
		h.Add(x)
	}
	if got := h.Sum(); got != r.Manifest.BaseModel.Theta0SHA256 {
		return fmt.Errorf("trajectory: %w: θ0 hashes to %.12s…, base_model.theta0_sha256 is %.12s…",
			ErrCorrupt, got, r.Manifest.BaseModel.Theta0SHA256)
	}
	return nil
}

// Close closes the files opened so far.
func (r *Reader) Close() error {
	var first error
	for name, f := range r.files {
		f.st.Close()
		if err := f.fh.Close(); err != nil && first == nil {
			first = err
		}
		delete(r.files, name)
	}
	return first
}
