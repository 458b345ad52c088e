package torchbin

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/subtune/subtune/safetensors"
)

// MaxPickleSize bounds the pickled part of a checkpoint (the state dict's
// structure, not its tensor data), which is read into memory: about a
// hundred bytes per tensor, so well under a megabyte even for large models.
const MaxPickleSize = 16 << 20

// File is an open PyTorch checkpoint holding a state dict. The pickle is
// read and checked by Open; tensor data is read on demand. Its methods are
// safe for concurrent use, except Close.
type File struct {
	path    string
	f       *os.File // nil when opened with OpenReaderAt
	r       io.ReaderAt
	names   []string
	tensors map[string]*tensor
}

// TensorInfo describes a tensor of a File.
type TensorInfo struct {
	DType safetensors.DType // F32, F16, BF16 or I64
	Shape []int
}

// Open opens the checkpoint at path, in either torch.save format.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	tf, err := OpenReaderAt(path, f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	tf.f = f
	return tf, nil
}

// OpenReaderAt reads a checkpoint of the given size held by r; name is
// used in errors only. Close does not close r.
func OpenReaderAt(name string, r io.ReaderAt, size int64) (*File, error) {
	if size < 0 {
		return nil, fmt.Errorf("%s: negative size %d", name, size)
	}
	var magic [4]byte
	n, _ := r.ReadAt(magic[:], 0)
	var sd any
	var err error
	if n == 4 && string(magic[:]) == "PK\x03\x04" {
		sd, err = readZip(r, size)
	} else {
		sd, err = readLegacy(r, size)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	tf := &File{path: name, r: r, tensors: map[string]*tensor{}}
	if err := tf.setStateDict(sd); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return tf, nil
}

// setStateDict checks that the unpickled object is a state dict: a dict of
// names to tensors.
func (f *File) setStateDict(v any) error {
	d, ok := v.(*dict)
	if !ok {
		return fmt.Errorf("%w: the pickle holds a %s, not a state dict", ErrUnsupported, typeName(v))
	}
	for _, k := range d.keys {
		name, ok := k.(string)
		if !ok {
			return fmt.Errorf("%w: state dict key %v is a %s, not a name", ErrUnsupported, k, typeName(k))
		}
		t, ok := d.vals[k].(*tensor)
		if !ok {
			return fmt.Errorf("%w: state dict entry %q is a %s, not a tensor", ErrUnsupported, name, typeName(d.vals[k]))
		}
		if err := t.checkBounds(); err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		f.names = append(f.names, name)
		f.tensors[name] = t
	}
	slices.Sort(f.names)
	return nil
}

// Close closes the file Open opened.
func (f *File) Close() error {
	if f.f == nil {
		return nil
	}
	return f.f.Close()
}

// Names returns the state dict's keys, sorted.
func (f *File) Names() []string { return slices.Clone(f.names) }

// Info returns a tensor's dtype and shape.
func (f *File) Info(name string) (TensorInfo, bool) {
	t, ok := f.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	shape := make([]int, len(t.shape))
	for i, d := range t.shape {
		shape[i] = int(d)
	}
	return TensorInfo{DType: t.storage.dtype, Shape: shape}, true
}

func (f *File) tensor(name string) (*tensor, error) {
	t, ok := f.tensors[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", f.path, name)
	}
	return t, nil
}

// Raw returns a tensor's elements as little-endian bytes in row-major
// order, whatever its strides in the file.
func (f *File) Raw(name string) ([]byte, error) {
	t, err := f.tensor(name)
	if err != nil {
		return nil, err
	}
	b, err := t.read(f.r)
	if err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", f.path, name, err)
	}
	return b, nil
}

// ReadFloat32Into reads a F32, F16 or BF16 tensor into dst, whose length
// must be the tensor's element count; F16 and BF16 widen exactly.
func (f *File) ReadFloat32Into(name string, dst []float32) error {
	t, err := f.tensor(name)
	if err != nil {
		return err
	}
	d := t.storage.dtype
	if d != safetensors.F32 && d != safetensors.F16 && d != safetensors.BF16 {
		return fmt.Errorf("%s: tensor %q: dtype %s cannot be read as weights (F32, F16 and BF16 can): %w", f.path, name, d, ErrUnsupported)
	}
	if int64(len(dst)) != t.numel() {
		return fmt.Errorf("%s: tensor %q: destination holds %d floats, the tensor %v has %d", f.path, name, len(dst), t.shape, t.numel())
	}
	b, err := f.Raw(name)
	if err != nil {
		return err
	}
	decode(d, dst, b)
	return nil
}

// decode widens little-endian elements of a float dtype to float32.
func decode(d safetensors.DType, dst []float32, b []byte) {
	le := binary.LittleEndian
	for i := range dst {
		switch d {
		case safetensors.F32:
			dst[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		case safetensors.F16:
			dst[i] = safetensors.F16ToF32(le.Uint16(b[2*i:]))
		case safetensors.BF16:
			dst[i] = safetensors.BF16ToF32(le.Uint16(b[2*i:]))
		}
	}
}

// storages collects the storages a pickle names through persistent ids,
// one per key.
type storages map[string]*storage

// load is the persistent-id hook: ('storage', storage_type, key, location,
// numel) in the zip format, with a sixth field, view_metadata, in the
// legacy one. The location (the device the tensor was saved from) is
// ignored: everything is read to memory.
func (ss storages) load(pid any, legacy bool) (any, error) {
	t, ok := pid.(tuple)
	want := 5
	if legacy {
		want = 6
	}
	if !ok || len(t) != want || t[0] != "storage" {
		return nil, fmt.Errorf("%w: persistent id of a %s is not a storage", ErrInvalid, typeName(pid))
	}
	g, ok1 := t[1].(global)
	key, ok2 := t[2].(string)
	_, ok3 := t[3].(string)
	numel, ok4 := t[4].(int64)
	dtype, ok5 := storageTypes[g.String()]
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || numel < 0 {
		return nil, fmt.Errorf("%w: storage id (%s, %s, %s, %s) is not (type, key, location, numel)", ErrInvalid, typeName(t[1]), typeName(t[2]), typeName(t[3]), typeName(t[4]))
	}
	if legacy && t[5] != nil {
		return nil, fmt.Errorf("%w: storage %q is a view of another (torch < 1.0)", ErrUnsupported, key)
	}
	if s, ok := ss[key]; ok {
		if s.dtype != dtype || s.numel != numel {
			return nil, fmt.Errorf("%w: storage %q is %d %s and also %d %s", ErrInvalid, key, s.numel, s.dtype, numel, dtype)
		}
		return s, nil
	}
	s := &storage{key: key, dtype: dtype, numel: numel}
	ss[key] = s
	return s, nil
}

// byteSize is the storage's size in bytes, false if it exceeds limit.
func (s *storage) byteSize(limit int64) (int64, bool) {
	es := s.elemSize()
	if s.numel > limit/es {
		return 0, false
	}
	return s.numel * es, true
}

// readPrefix reads up to n bytes from the start of r.
func readPrefix(r io.ReaderAt, size, n int64) ([]byte, error) {
	b := make([]byte, min(size, n))
	if err := readFull(r, b, 0); err != nil {
		return nil, err
	}
	return b, nil
}

// readAll reads a whole stream known to hold at most limit bytes.
func readAll(rc io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return buf.Bytes(), nil
}
