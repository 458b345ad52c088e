package torchbin

import (
	"fmt"
	"io"
	"math"

	"github.com/subtune/subtune/safetensors"
)

// storage is a block of elements of one dtype: a zip entry, or a run of
// bytes in a legacy file.
type storage struct {
	key   string
	dtype safetensors.DType
	numel int64
	off   int64 // file offset of the first element, set once the format locates it
	found bool  // off is set
}

func (s *storage) elemSize() int64 { return int64(s.dtype.Bits() / 8) }

// tensor is what _rebuild_tensor_v2 makes: a strided view of a storage,
// offset and strides counted in elements.
type tensor struct {
	storage *storage
	offset  int64
	shape   []int64
	stride  []int64
}

// maxDims is torch's limit on a tensor's number of dimensions.
const maxDims = 64

// rebuildTensor checks the arguments of torch._utils._rebuild_tensor_v2:
// (storage, storage_offset, size, stride, requires_grad, backward_hooks[,
// metadata]). The view's bounds are checked once the tensor has a name
// (checkBounds).
func rebuildTensor(args tuple) (any, error) {
	if len(args) != 6 && len(args) != 7 {
		return nil, fmt.Errorf("%w: %s with %d arguments", ErrInvalid, rebuildTensorV2, len(args))
	}
	s, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("%w: %s of a %s, not a storage", ErrInvalid, rebuildTensorV2, typeName(args[0]))
	}
	offset, ok := args[1].(int64)
	if !ok || offset < 0 {
		return nil, fmt.Errorf("%w: %s with storage offset %s", ErrInvalid, rebuildTensorV2, describeInt(args[1]))
	}
	shape, err1 := dims(args[2], "size")
	stride, err2 := dims(args[3], "stride")
	if err1 != nil {
		return nil, err1
	}
	if err2 != nil {
		return nil, err2
	}
	if len(shape) != len(stride) {
		return nil, fmt.Errorf("%w: %s with %d sizes and %d strides", ErrInvalid, rebuildTensorV2, len(shape), len(stride))
	}
	t := &tensor{storage: s, offset: offset, shape: shape, stride: stride}
	return t, checkHooks(global{"torch._utils", "_rebuild_tensor_v2"}, args[4], args[5])
}

// dims reads a size or stride tuple: non-negative integers.
func dims(v any, what string) ([]int64, error) {
	t, ok := v.(tuple)
	if !ok || len(t) > maxDims {
		return nil, fmt.Errorf("%w: %s with %s %s", ErrInvalid, rebuildTensorV2, what, typeName(v))
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 {
			return nil, fmt.Errorf("%w: %s with %s[%d] %s", ErrInvalid, rebuildTensorV2, what, i, describeInt(x))
		}
		out[i] = n
	}
	return out, nil
}

// describeInt shows an integer, or the type of what should have been one
// (never a container's contents, which may nest without limit).
func describeInt(v any) string {
	if n, ok := v.(int64); ok {
		return fmt.Sprint(n)
	}
	return typeName(v)
}

// numel is the number of elements, or -1 on overflow.
func (t *tensor) numel() int64 {
	n := int64(1)
	for _, d := range t.shape {
		if d != 0 && n > math.MaxInt64/d {
			return -1
		}
		n *= d
	}
	return n
}

// checkBounds refuses views reaching past their storage, and views with
// more elements than the storage (expanded views, whose copy could be
// arbitrarily large), so that reading a tensor never costs more memory
// than the file holds.
func (t *tensor) checkBounds() error {
	n := t.numel()
	if n == 0 {
		return nil
	}
	if n < 0 || n > t.storage.numel {
		return fmt.Errorf("%w: size %v has more elements than its storage (%d): an expanded view; save tensor.contiguous() instead",
			ErrUnsupported, t.shape, t.storage.numel)
	}
	last, ok := t.lastIndex()
	if !ok || last >= t.storage.numel {
		return fmt.Errorf("%w: a view (offset %d, size %v, stride %v) past the end of its storage of %d elements",
			ErrInvalid, t.offset, t.shape, t.stride, t.storage.numel)
	}
	return nil
}

// lastIndex is the storage index of the view's last element, false on
// overflow. Strides are non-negative, so it is the largest index.
func (t *tensor) lastIndex() (int64, bool) {
	last := t.offset
	for i, d := range t.shape {
		s := t.stride[i]
		if s != 0 && d-1 > (math.MaxInt64-last)/s {
			return 0, false
		}
		last += (d - 1) * s
	}
	return last, true
}

// contiguous reports whether the view is row-major and dense, so that its
// bytes can be read in one piece. Dimensions of size 1 may have any
// stride, as in torch.
func (t *tensor) contiguous() bool {
	want := int64(1)
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.stride[i] != want {
			return false
		}
		want *= t.shape[i]
	}
	return true
}

// read returns the tensor's elements, row-major and contiguous, as
// little-endian bytes. A strided view is gathered from the part of the
// storage it spans.
func (t *tensor) read(r io.ReaderAt) ([]byte, error) {
	es := t.storage.elemSize()
	n := t.numel()
	out := make([]byte, n*es)
	if n == 0 {
		return out, nil
	}
	if t.contiguous() {
		return out, readFull(r, out, t.storage.off+t.offset*es)
	}
	last, _ := t.lastIndex()
	span := make([]byte, (last-t.offset+1)*es)
	if err := readFull(r, span, t.storage.off+t.offset*es); err != nil {
		return nil, err
	}
	t.gather(out, span, es)
	return out, nil
}

// gather copies the elements of the view from span (the storage from the
// view's offset on) to out in row-major order.
func (t *tensor) gather(out, span []byte, es int64) {
	idx := make([]int64, len(t.shape))
	src := int64(0)
	for dst := int64(0); dst < int64(len(out)); dst += es {
		copy(out[dst:dst+es], span[src*es:(src+1)*es])
		for d := len(t.shape) - 1; d >= 0; d-- {
			idx[d]++
			src += t.stride[d]
			if idx[d] < t.shape[d] {
				break
			}
			src -= t.stride[d] * t.shape[d]
			idx[d] = 0
		}
	}
}

// readFull reads exactly len(b) bytes at off.
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
