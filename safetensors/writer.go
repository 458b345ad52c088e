package safetensors

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/subtune/subtune/atomicfile"
)

// Tensor is a whole tensor in memory, for Write and ReadFile.
//
// For writing, set F32 (row-major float32 source data, converted to DType on
// the way out; DType must be F32, F16, BF16 or F64) or Raw (the elements
// already encoded little endian in DType; any dtype). A tensor with no
// elements needs neither. ReadFile fills F32 for float dtypes and Raw for
// the others.
type Tensor struct {
	DType DType
	Shape []int
	F32   []float32
	Raw   []byte
}

// TensorSpec declares a tensor for NewWriter.
type TensorSpec struct {
	Name  string
	DType DType
	Shape []int
}

// Write atomically writes tensors and metadata to path, byte for byte as the
// reference (Rust and Python) writer lays them out: see the package
// documentation. nil metadata writes no __metadata__ entry; a non-nil empty
// map writes "__metadata__":{} (as Python's save_file(metadata={}) does).
// Nothing is created unless every tensor is consistent.
func Write(path string, tensors map[string]Tensor, metadata map[string]string) error {
	specs := make([]TensorSpec, 0, len(tensors))
	for name, t := range tensors {
		specs = append(specs, TensorSpec{Name: name, DType: t.DType, Shape: t.Shape})
	}
	lay, err := layout(path, specs, metadata)
	if err != nil {
		return err
	}
	for i, s := range lay.specs {
		t := tensors[s.Name]
		bad := func(format string, args ...any) error {
			return newErr(path, s.Name, ErrSize, fmt.Sprintf(format, args...))
		}
		switch {
		case t.F32 != nil && t.Raw != nil:
			return newErr(path, s.Name, ErrUsage, "both F32 and Raw are set")
		case t.F32 != nil:
			if !s.DType.IsFloat() {
				return newErr(path, s.Name, ErrDType,
					fmt.Sprintf("cannot convert float32 data to %s (use Raw)", s.DType))
			}
			if n := lay.sizes[i] / int64(s.DType.Bits()/8); int64(len(t.F32)) != n {
				return bad("shape %v has %d elements but F32 holds %d", s.Shape, n, len(t.F32))
			}
		case int64(len(t.Raw)) != lay.sizes[i]:
			return bad("shape %v of %s needs %d bytes but Raw holds %d", s.Shape, s.DType, lay.sizes[i], len(t.Raw))
		}
	}
	w, err := newWriter(path, lay)
	if err != nil {
		return err
	}
	defer w.Abort()
	for _, s := range lay.specs {
		t := tensors[s.Name]
		if t.F32 != nil {
			err = w.WriteTensor(s.Name, t.F32)
		} else {
			err = w.WriteRaw(s.Name, t.Raw)
		}
		if err != nil {
			return err
		}
	}
	_, err = w.Close()
	return err
}

// Writer streams a safetensors file whose tensors are declared up front, so
// tensors larger than memory can be written piecewise. The header is written
// first; tensor data must then be supplied in file order (Order), each tensor
// in one or more consecutive WriteTensor/WriteRaw calls. Close commits the
// file atomically (temporary file, fsync, rename): until then nothing exists
// at the path, so a crash or kill never leaves a file there that a reader
// would accept. A Writer is not safe for concurrent use.
type Writer struct {
	path    string
	lay     *fileLayout
	p       *atomicfile.Pending
	h       hash.Hash
	cur     int   // index of the first incomplete tensor
	written int64 // bytes of specs[cur] written so far
	buf     []byte
	err     error // sticky I/O error
	closed  bool
}

// NewWriter validates the specs, writes the header, and returns a Writer
// expecting the tensors' data in the order given by Order. metadata is
// handled as by Write.
func NewWriter(path string, specs []TensorSpec, metadata map[string]string) (*Writer, error) {
	lay, err := layout(path, specs, metadata)
	if err != nil {
		return nil, err
	}
	return newWriter(path, lay)
}

func newWriter(path string, lay *fileLayout) (*Writer, error) {
	p, err := atomicfile.Create(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "create", Err: err}
	}
	w := &Writer{path: path, lay: lay, p: p, h: sha256.New()}
	var nb [8]byte
	binary.LittleEndian.PutUint64(nb[:], uint64(len(lay.header)))
	w.emit(nb[:])
	w.emit(lay.header)
	if w.err != nil {
		p.Abort()
		return nil, w.err
	}
	w.skipEmpty()
	return w, nil
}

// Order returns the tensor names in file order: the order in which their
// data must be written.
func (w *Writer) Order() []string {
	names := make([]string, len(w.lay.specs))
	for i, s := range w.lay.specs {
		names[i] = s.Name
	}
	return names
}

func (w *Writer) emit(b []byte) {
	if w.err != nil {
		return
	}
	if _, err := w.p.Write(b); err != nil {
		w.err = &Error{File: w.path, Msg: "write", Err: err}
		return
	}
	w.h.Write(b)
}

// skipEmpty advances past tensors with no bytes: they need no data.
func (w *Writer) skipEmpty() {
	for w.cur < len(w.lay.sizes) && w.written == w.lay.sizes[w.cur] {
		w.cur++
		w.written = 0
	}
}

// target checks that name is the tensor to write next and that n more bytes
// fit in it.
func (w *Writer) target(name string, n int64) (*TensorSpec, error) {
	if w.closed {
		return nil, newErr(w.path, name, ErrUsage, "write after Close or Abort")
	}
	if w.err != nil {
		return nil, w.err
	}
	if i, ok := w.lay.index[name]; ok && w.lay.sizes[i] == 0 && n == 0 {
		return nil, nil // empty tensors are complete already
	}
	if w.cur == len(w.lay.specs) {
		return nil, newErr(w.path, name, ErrUsage, "all tensors are already complete")
	}
	s := &w.lay.specs[w.cur]
	if name != s.Name {
		if _, ok := w.lay.index[name]; !ok {
			return nil, newErr(w.path, name, ErrNotFound, "not declared to NewWriter")
		}
		if w.written > 0 {
			return nil, newErr(w.path, name, ErrUsage, fmt.Sprintf(
				"tensor %q is incomplete (%d of %d bytes written); tensors must be written whole, in Order()",
				s.Name, w.written, w.lay.sizes[w.cur]))
		}
		return nil, newErr(w.path, name, ErrUsage, fmt.Sprintf(
			"out of order: tensor %q comes next (tensors must be written in Order())", s.Name))
	}
	if left := w.lay.sizes[w.cur] - w.written; n > left {
		return nil, newErr(w.path, name, ErrSize, fmt.Sprintf(
			"%d more bytes given but only %d of its %d bytes remain", n, left, w.lay.sizes[w.cur]))
	}
	return s, nil
}

func (w *Writer) advance(n int64) {
	w.written += n
	w.skipEmpty()
}

// WriteTensor appends data (float32 values, converted to the tensor's
// declared dtype: F32, F16, BF16 or F64) to the named tensor. A tensor may
// be written in several consecutive calls; it is complete once all its
// elements have been given, and the next call must name the next tensor in
// Order. Argument errors write nothing and leave the Writer usable; I/O
// errors are sticky and make Close fail.
func (w *Writer) WriteTensor(name string, data []float32) error {
	size := int64(4)
	if i, ok := w.lay.index[name]; ok {
		d := w.lay.specs[i].DType
		if !d.IsFloat() {
			return newErr(w.path, name, ErrDType, fmt.Sprintf("cannot convert float32 data to %s (use WriteRaw)", d))
		}
		size = int64(d.Bits() / 8)
	}
	s, err := w.target(name, int64(len(data))*size)
	if s == nil {
		return err
	}
	w.encode(s.DType, data)
	if w.err != nil {
		return w.err
	}
	w.advance(int64(len(data)) * size)
	return nil
}

// WriteRaw appends already-encoded little-endian bytes to the named tensor,
// of any dtype, with the same ordering rules as WriteTensor.
func (w *Writer) WriteRaw(name string, b []byte) error {
	s, err := w.target(name, int64(len(b)))
	if s == nil {
		return err
	}
	w.emit(b)
	if w.err != nil {
		return w.err
	}
	w.advance(int64(len(b)))
	return nil
}

// convChunk is the number of elements converted per write.
const convChunk = 1 << 20

func (w *Writer) encode(d DType, data []float32) {
	if d == F32 && hostLittleEndian {
		w.emit(bytesOfF32(data))
		return
	}
	size := d.Bits() / 8
	if w.buf == nil {
		w.buf = make([]byte, convChunk*2)
	}
	per := len(w.buf) / size
	le := binary.LittleEndian
	for len(data) > 0 && w.err == nil {
		n := min(per, len(data))
		src, b := data[:n], w.buf[:n*size]
		switch {
		case d == F16 && hostLittleEndian:
			F32ToF16Slice(u16sOfBytes(b), src)
		case d == BF16 && hostLittleEndian:
			F32ToBF16Slice(u16sOfBytes(b), src)
		default:
			for i, f := range src {
				switch d {
				case F32:
					le.PutUint32(b[4*i:], math.Float32bits(f))
				case F16:
					le.PutUint16(b[2*i:], F32ToF16(f))
				case BF16:
					le.PutUint16(b[2*i:], F32ToBF16(f))
				case F64:
					le.PutUint64(b[8*i:], math.Float64bits(float64(f)))
				}
			}
		}
		w.emit(b)
		data = data[n:]
	}
}

// Close checks every tensor is complete, commits the file atomically and
// returns the lowercase hex SHA-256 of its bytes, computed while streaming.
// If anything is missing or failed, nothing is left at the path.
func (w *Writer) Close() (sha256hex string, err error) {
	if w.closed {
		return "", newErr(w.path, "", ErrUsage, "Close after Close or Abort")
	}
	defer w.Abort()
	if w.err != nil {
		return "", w.err
	}
	if w.cur < len(w.lay.specs) {
		s := w.lay.specs[w.cur]
		return "", newErr(w.path, s.Name, ErrUsage, fmt.Sprintf(
			"incomplete: %d of %d bytes written (%d tensors not finished); nothing was written",
			w.written, w.lay.sizes[w.cur], len(w.lay.specs)-w.cur))
	}
	if err := w.p.Commit(); err != nil {
		return "", &Error{File: w.path, Msg: "commit", Err: err}
	}
	w.closed = true
	return hex.EncodeToString(w.h.Sum(nil)), nil
}

// Abort discards the file being written. It is a no-op after Close, so
// `defer w.Abort()` is a safe way to clean up on error paths.
func (w *Writer) Abort() {
	if w.closed {
		return
	}
	w.closed = true
	w.p.Abort()
}

// fileLayout is a validated, ordered set of tensors with its header bytes.
type fileLayout struct {
	specs  []TensorSpec // file order
	sizes  []int64      // byte length of each
	index  map[string]int
	header []byte // JSON, padded with spaces to a multiple of 8
}

// layout sorts the tensors the way the reference prepare() does — by dtype
// descending in the order of its Dtype enum (roughly decreasing alignment),
// then by name ascending (bytewise) — assigns contiguous offsets and
// serializes the header.
func layout(path string, specs []TensorSpec, metadata map[string]string) (*fileLayout, error) {
	lay := &fileLayout{specs: slices.Clone(specs), index: make(map[string]int, len(specs))}
	for _, s := range lay.specs {
		bad := func(sentinel error, format string, args ...any) error {
			return newErr(path, s.Name, sentinel, fmt.Sprintf(format, args...))
		}
		switch {
		case !utf8.ValidString(s.Name):
			return nil, bad(ErrUsage, "name is not valid UTF-8")
		case s.Name == metadataKey:
			return nil, bad(ErrUsage, "%q is reserved for metadata", metadataKey)
		case !s.DType.Valid():
			return nil, bad(ErrDType, "unknown dtype %q", s.DType)
		}
		if _, dup := lay.index[s.Name]; dup {
			return nil, bad(ErrUsage, "declared twice")
		}
		lay.index[s.Name] = 0
		n, ok := numel(s.Shape)
		if !ok {
			return nil, bad(ErrSize, "invalid shape %v", s.Shape)
		}
		if _, ok := s.DType.byteLen(n); !ok {
			return nil, bad(ErrSize, "shape %v of %s does not fill whole bytes or overflows", s.Shape, s.DType)
		}
	}
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, newErr(path, "", ErrUsage, fmt.Sprintf("metadata %q is not valid UTF-8", k))
		}
	}
	slices.SortFunc(lay.specs, func(a, b TensorSpec) int {
		return cmp.Or(cmp.Compare(dtypeInfo[b.DType].rank, dtypeInfo[a.DType].rank), cmp.Compare(a.Name, b.Name))
	})

	h := []byte{'{'}
	if metadata != nil {
		h = appendJSONString(h, metadataKey)
		h = append(h, ':', '{')
		keys := slices.Sorted(maps.Keys(metadata))
		for i, k := range keys {
			if i > 0 {
				h = append(h, ',')
			}
			h = appendJSONString(h, k)
			h = append(h, ':')
			h = appendJSONString(h, metadata[k])
		}
		h = append(h, '}')
	}
	var off uint64
	lay.sizes = make([]int64, len(lay.specs))
	for i, s := range lay.specs {
		lay.index[s.Name] = i
		n, _ := numel(s.Shape)
		size, _ := s.DType.byteLen(n)
		if off+size < off || off+size > math.MaxInt64 {
			return nil, newErr(path, s.Name, ErrSize, "total size overflows")
		}
		lay.sizes[i] = int64(size)
		if metadata != nil || i > 0 {
			h = append(h, ',')
		}
		h = appendJSONString(h, s.Name)
		h = append(h, `:{"dtype":`...)
		h = appendJSONString(h, string(s.DType))
		h = append(h, `,"shape":[`...)
		for j, d := range s.Shape {
			if j > 0 {
				h = append(h, ',')
			}
			h = strconv.AppendInt(h, int64(d), 10)
		}
		h = append(h, `],"data_offsets":[`...)
		h = strconv.AppendUint(h, off, 10)
		h = append(h, ',')
		off += size
		h = strconv.AppendUint(h, off, 10)
		h = append(h, ']', '}')
	}
	h = append(h, '}')
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	if len(h) > MaxHeaderSize {
		return nil, newErr(path, "", ErrSize, fmt.Sprintf("header of %d bytes exceeds the %d-byte limit", len(h), MaxHeaderSize))
	}
	lay.header = h
	return lay, nil
}

// appendJSONString appends s as a JSON string escaped exactly as serde_json
// does: only '"', '\\' and control characters below 0x20 are escaped (\b \t
// \n \f \r by name, the rest as \u00xx with lowercase hex); everything else,
// including non-ASCII, DEL and U+2028/2029, is written verbatim.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c >= 0x20:
			dst = append(dst, c)
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	return append(dst, '"')
}
