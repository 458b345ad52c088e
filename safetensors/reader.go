package safetensors

import (
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"sync"
)

// File is an open safetensors file. The header is parsed and validated by
// Open; tensor data is read lazily, on demand, with ReadAt (pread), so a
// File can serve many tensors of a huge file without loading it. Its
// methods are safe for concurrent use, except Close.
type File struct {
	path    string
	f       *os.File // nil when opened with OpenReaderAt
	r       io.ReaderAt
	h       *header
	dataOff int64 // absolute offset of the data buffer: 8 + header size
}

// Open opens and validates the safetensors file at path.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "open", Err: err}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &Error{File: path, Msg: "stat", Err: err}
	}
	sf, err := OpenReaderAt(path, f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	sf.f = f
	return sf, nil
}

// OpenReaderAt validates a safetensors file of the given size held by r
// (an in-memory bytes.Reader, a section of an archive, ...). name is only
// used in error messages. Close does not close r.
func OpenReaderAt(name string, r io.ReaderAt, size int64) (*File, error) {
	if size < 8 {
		return nil, newErr(name, "", ErrInvalid,
			fmt.Sprintf("file is %d bytes, shorter than the 8-byte header size", size))
	}
	var nb [8]byte
	if err := readFull(r, nb[:], 0); err != nil {
		return nil, &Error{File: name, Msg: "read header size", Err: err}
	}
	n := binary.LittleEndian.Uint64(nb[:])
	if n > MaxHeaderSize {
		return nil, newErr(name, "", ErrInvalid,
			fmt.Sprintf("header size %d exceeds the %d-byte limit", n, MaxHeaderSize))
	}
	if n > uint64(size-8) {
		return nil, newErr(name, "", ErrInvalid,
			fmt.Sprintf("header size %d extends past the end of the %d-byte file", n, size))
	}
	hb := make([]byte, n)
	if err := readFull(r, hb, 8); err != nil {
		return nil, &Error{File: name, Msg: "read header", Err: err}
	}
	dataOff := 8 + int64(n)
	h, err := parseHeader(name, hb, size-dataOff)
	if err != nil {
		return nil, err
	}
	return &File{path: name, r: r, h: h, dataOff: dataOff}, nil
}

// readFull reads exactly len(b) bytes at off; a short read is
// io.ErrUnexpectedEOF (the file shrank after it was opened).
func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Close closes the underlying file (if Open opened it).
func (f *File) Close() error {
	if f.f == nil {
		return nil
	}
	if err := f.f.Close(); err != nil {
		return &Error{File: f.path, Msg: "close", Err: err}
	}
	return nil
}

// Names returns the tensor names, sorted.
func (f *File) Names() []string { return slices.Clone(f.h.names) }

// Info returns the dtype, shape and buffer offsets of a tensor.
func (f *File) Info(name string) (TensorInfo, bool) {
	ti, ok := f.h.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	c := *ti
	c.Shape = slices.Clone(ti.Shape)
	return c, true
}

// Metadata returns a copy of the header's __metadata__, or nil if the file
// has none.
func (f *File) Metadata() map[string]string { return maps.Clone(f.h.metadata) }

// DataOffset returns the absolute file offset of the data buffer (8 plus the
// header size); a tensor's bytes are at DataOffset()+Begin.
func (f *File) DataOffset() int64 { return f.dataOff }

func (f *File) info(name string) (*TensorInfo, error) {
	ti, ok := f.h.tensors[name]
	if !ok {
		return nil, newErr(f.path, name, ErrNotFound, "")
	}
	return ti, nil
}

// Raw returns a tensor's bytes as stored (little endian), for any dtype.
func (f *File) Raw(name string) ([]byte, error) {
	ti, err := f.info(name)
	if err != nil {
		return nil, err
	}
	b := make([]byte, ti.End-ti.Begin)
	if err := readFull(f.r, b, f.dataOff+ti.Begin); err != nil {
		return nil, &Error{File: f.path, Tensor: name, Msg: "read data", Err: err}
	}
	return b, nil
}

// Float32 reads a tensor as float32, converting F16, BF16 and F64 (F16 and
// BF16 exactly; F64 rounded to nearest even). Other dtypes are an ErrDType
// error: read them with Raw.
func (f *File) Float32(name string) ([]float32, error) {
	ti, err := f.info(name)
	if err != nil {
		return nil, err
	}
	if !ti.DType.IsFloat() {
		return nil, f.notFloat(name, ti)
	}
	dst := make([]float32, ti.NumElements())
	if err := f.ReadFloat32Into(name, dst); err != nil {
		return nil, err
	}
	return dst, nil
}

func (f *File) notFloat(name string, ti *TensorInfo) error {
	return newErr(f.path, name, ErrDType,
		fmt.Sprintf("dtype %s cannot be read as float32 (use Raw)", ti.DType))
}

// ReadFloat32Into is Float32 into an existing slice, whose length must equal
// the tensor's element count. It allocates nothing per call: F32 data is
// read straight into dst, other dtypes through a pooled 1 MiB chunk buffer.
// Reading several tensors concurrently from one File is safe.
func (f *File) ReadFloat32Into(name string, dst []float32) error {
	ti, err := f.info(name)
	if err != nil {
		return err
	}
	if !ti.DType.IsFloat() {
		return f.notFloat(name, ti)
	}
	if n := ti.NumElements(); int64(len(dst)) != n {
		return newErr(f.path, name, ErrSize,
			fmt.Sprintf("destination holds %d floats, tensor has %d (shape %v)", len(dst), n, ti.Shape))
	}
	off := f.dataOff + ti.Begin
	if err := f.readRange(ti.DType, off, dst); err != nil {
		return &Error{File: f.path, Tensor: name, Msg: "read data", Err: err}
	}
	return nil
}

// readRange reads the len(dst) elements of dtype d stored at file offset
// off into dst.
func (f *File) readRange(d DType, off int64, dst []float32) error {
	if d == F32 && hostLittleEndian {
		return readFull(f.r, bytesOfF32(dst), off)
	}
	size := d.Bits() / 8
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	buf := *bp
	per := len(buf) / size
	for i := 0; i < len(dst); i += per {
		j := min(i+per, len(dst))
		b := buf[:(j-i)*size]
		if err := readFull(f.r, b, off+int64(i)*int64(size)); err != nil {
			return err
		}
		decode(d, dst[i:j], b)
	}
	return nil
}

const chunkBytes = 1 << 20

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkBytes); return &b }}

// decode converts little-endian stored elements of d (a float dtype) to
// float32; dst and src hold the same number of elements.
func decode(d DType, dst []float32, src []byte) {
	if hostLittleEndian {
		switch d {
		case F32:
			copy(bytesOfF32(dst), src)
		case F16:
			f16ToF32(dst, u16sOfBytes(src))
		case BF16:
			bf16ToF32(dst, u16sOfBytes(src))
		case F64:
			f64ToF32(dst, f64sOfBytes(src))
		}
		return
	}
	le := binary.LittleEndian
	for i := range dst {
		switch d {
		case F32:
			dst[i] = math.Float32frombits(le.Uint32(src[4*i:]))
		case F16:
			dst[i] = F16ToF32(le.Uint16(src[2*i:]))
		case BF16:
			dst[i] = BF16ToF32(le.Uint16(src[2*i:]))
		case F64:
			dst[i] = float32(math.Float64frombits(le.Uint64(src[8*i:])))
		}
	}
}

// CheckFinite reads the named tensors (all F32, F16, BF16 and F64 tensors if
// none are named) and returns an ErrNonFinite error naming the tensor and
// the index of the first NaN or infinity. Naming a tensor of another dtype
// is an ErrDType error.
func (f *File) CheckFinite(names ...string) error {
	if len(names) == 0 {
		for _, name := range f.h.names {
			if f.h.tensors[name].DType.IsFloat() {
				names = append(names, name)
			}
		}
	}
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	for _, name := range names {
		ti, err := f.info(name)
		if err != nil {
			return err
		}
		if !ti.DType.IsFloat() {
			return newErr(f.path, name, ErrDType, fmt.Sprintf("CheckFinite does not support dtype %s", ti.DType))
		}
		if err := f.checkFinite(name, ti, *bp); err != nil {
			return err
		}
	}
	return nil
}

func (f *File) checkFinite(name string, ti *TensorInfo, buf []byte) error {
	size := int64(ti.DType.Bits() / 8)
	total := ti.End - ti.Begin
	per := int64(len(buf)) / size * size
	for pos := int64(0); pos < total; pos += per {
		b := buf[:min(per, total-pos)]
		if err := readFull(f.r, b, f.dataOff+ti.Begin+pos); err != nil {
			return &Error{File: f.path, Tensor: name, Msg: "read data", Err: err}
		}
		if i, v := firstNonFinite(ti.DType, b); i >= 0 {
			idx := pos/size + int64(i)
			return newErr(f.path, name, ErrNonFinite,
				fmt.Sprintf("element %d (index %v) is %v", idx, unravel(idx, ti.Shape), v))
		}
	}
	return nil
}

// firstNonFinite returns the index and value of the first NaN or infinity
// among the little-endian elements of float dtype d in b, or -1. It tests
// the exponent bits only: all ones means Inf or NaN in every IEEE format.
func firstNonFinite(d DType, b []byte) (int, float64) {
	le := binary.LittleEndian
	switch d {
	case F32:
		for i := 0; i+4 <= len(b); i += 4 {
			if u := le.Uint32(b[i:]); u&0x7f800000 == 0x7f800000 {
				return i / 4, float64(math.Float32frombits(u))
			}
		}
	case F16, BF16:
		mask := uint16(0x7c00)
		if d == BF16 {
			mask = 0x7f80
		}
		for i := 0; i+2 <= len(b); i += 2 {
			if h := le.Uint16(b[i:]); h&mask == mask {
				if d == F16 {
					return i / 2, float64(F16ToF32(h))
				}
				return i / 2, float64(BF16ToF32(h))
			}
		}
	case F64:
		for i := 0; i+8 <= len(b); i += 8 {
			if u := le.Uint64(b[i:]); u&0x7ff0000000000000 == 0x7ff0000000000000 {
				return i / 8, math.Float64frombits(u)
			}
		}
	}
	return -1, 0
}

// unravel turns a flat row-major index into per-dimension indices.
func unravel(idx int64, shape []int) []int64 {
	out := make([]int64, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			out[d] = idx % int64(shape[d])
			idx /= int64(shape[d])
		}
	}
	return out
}

// ReadFile reads every tensor of a file into memory: float tensors (F32,
// F16, BF16, F64) as Tensor.F32, every other dtype as its stored bytes in
// Tensor.Raw. It also returns the metadata (nil if none).
func ReadFile(path string) (map[string]Tensor, map[string]string, error) {
	f, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	out := make(map[string]Tensor, len(f.h.names))
	for _, name := range f.h.names {
		ti := f.h.tensors[name]
		t := Tensor{DType: ti.DType, Shape: slices.Clone(ti.Shape)}
		if ti.DType.IsFloat() {
			t.F32, err = f.Float32(name)
		} else {
			t.Raw, err = f.Raw(name)
		}
		if err != nil {
			return nil, nil, err
		}
		out[name] = t
	}
	return out, f.Metadata(), nil
}
