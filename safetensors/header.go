package safetensors

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxHeaderSize is the largest JSON header accepted (and written), the same
// 100,000,000-byte limit as the reference implementation.
const MaxHeaderSize = 100_000_000

const metadataKey = "__metadata__"

// TensorInfo describes one tensor of a file. Begin and End are byte offsets
// relative to the start of the data buffer (just after the header), as
// stored in the header's data_offsets.
type TensorInfo struct {
	DType DType
	Shape []int
	Begin int64
	End   int64
}

// NumElements returns the product of the shape (1 for a scalar).
func (t TensorInfo) NumElements() int64 {
	n, _ := numel(t.Shape) // validated when the file was opened
	return int64(n)
}

type header struct {
	tensors  map[string]*TensorInfo
	names    []string // sorted by name
	metadata map[string]string
	dataLen  int64 // bytes covered by tensors == buffer length
}

// parseHeader parses and validates the JSON header b against a data buffer
// of bufLen bytes. It enforces what the reference read_metadata/validate
// enforce — UTF-8 JSON object, string-to-string __metadata__, known dtypes,
// len(data) == numel × size with overflow checks, tensors covering the
// buffer contiguously from 0 with no hole, overlap or trailing bytes — plus
// two things the reference lets slide: duplicate keys (serde keeps the last)
// are rejected, and so are dimensions above MaxInt64.
func parseHeader(file string, b []byte, bufLen int64) (*header, error) {
	bad := func(tensor, format string, args ...any) error {
		return newErr(file, tensor, ErrInvalid, fmt.Sprintf(format, args...))
	}
	if !utf8.Valid(b) {
		return nil, bad("", "header is not valid UTF-8")
	}
	h := &header{tensors: make(map[string]*TensorInfo)}
	hasMeta := false
	err := forEachMember(b, func(key string, raw json.RawMessage) error {
		if key == metadataKey {
			if hasMeta {
				return bad("", "duplicate %q in header", metadataKey)
			}
			hasMeta = true
			md, err := parseMetadata(raw)
			if err != nil {
				return bad("", "%s: %v", metadataKey, err)
			}
			h.metadata = md
			return nil
		}
		if _, dup := h.tensors[key]; dup {
			return bad(key, "duplicate tensor name in header")
		}
		ti, err := parseInfo(raw)
		if err != nil {
			return bad(key, "%v", err)
		}
		h.tensors[key] = ti
		return nil
	})
	if err != nil {
		if _, ok := err.(*Error); ok {
			return nil, err
		}
		return nil, bad("", "header is not a valid JSON object: %v", err)
	}

	// Per-tensor consistency: dtype, shape × dtype size == byte span, range.
	byOffset := make([]string, 0, len(h.tensors))
	for name, ti := range h.tensors {
		if !ti.DType.Valid() {
			return nil, bad(name, "unknown dtype %q", ti.DType)
		}
		n, ok := numel(ti.Shape)
		if !ok {
			return nil, bad(name, "shape %v overflows", ti.Shape)
		}
		size, ok := ti.DType.byteLen(n)
		if !ok {
			return nil, bad(name, "shape %v of %s does not fill whole bytes or overflows", ti.Shape, ti.DType)
		}
		if ti.End < ti.Begin {
			return nil, bad(name, "data_offsets [%d, %d] end before they begin", ti.Begin, ti.End)
		}
		if span := uint64(ti.End - ti.Begin); span != size {
			return nil, bad(name, "data_offsets [%d, %d] span %d bytes but shape %v of %s needs %d",
				ti.Begin, ti.End, span, ti.Shape, ti.DType, size)
		}
		if ti.End > bufLen {
			return nil, bad(name, "data_offsets [%d, %d] extend past the end of the file (data buffer is %d bytes)",
				ti.Begin, ti.End, bufLen)
		}
		byOffset = append(byOffset, name)
	}

	// Coverage: sorted by offsets, each tensor starts where the previous one
	// ended, the first at 0 and the last at the end of the file.
	slices.SortFunc(byOffset, func(a, b string) int {
		ta, tb := h.tensors[a], h.tensors[b]
		return cmp.Or(cmp.Compare(ta.Begin, tb.Begin), cmp.Compare(ta.End, tb.End), cmp.Compare(a, b))
	})
	var end int64
	prev := ""
	for _, name := range byOffset {
		ti := h.tensors[name]
		switch {
		case ti.Begin > end && prev == "":
			return nil, bad(name, "hole: data buffer bytes [0, %d) before the first tensor are not covered", ti.Begin)
		case ti.Begin > end:
			return nil, bad(name, "hole: data buffer bytes [%d, %d) between tensor %q and this one are not covered", end, ti.Begin, prev)
		case ti.Begin < end:
			return nil, bad(name, "data_offsets [%d, %d] overlap tensor %q ending at %d", ti.Begin, ti.End, prev, end)
		}
		end, prev = ti.End, name
	}
	if end != bufLen {
		return nil, bad("", "tensors cover %d bytes of the %d-byte data buffer: %d trailing bytes", end, bufLen, bufLen-end)
	}
	h.dataLen = end
	h.names = make([]string, 0, len(h.tensors))
	for name := range h.tensors {
		h.names = append(h.names, name)
	}
	slices.Sort(h.names)
	return h, nil
}

// forEachMember calls fn for each member of the JSON object b, in order,
// and checks that nothing but whitespace follows the object.
func forEachMember(b []byte, fn func(key string, raw json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil {
		return err
	} else if tok != json.Delim('{') {
		return fmt.Errorf("expected an object, found %v", tok)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("expected a key, found %v", tok)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if err := fn(key, raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return err
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return err
		}
		return fmt.Errorf("unexpected %v after the object", tok)
	}
	return nil
}

// parseMetadata parses the __metadata__ value: an object of strings, or null.
func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("must be an object of strings")
	}
	md := make(map[string]string)
	err := forEachMember(raw, func(key string, v json.RawMessage) error {
		if _, dup := md[key]; dup {
			return fmt.Errorf("duplicate key %q", key)
		}
		var s string
		if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
			return fmt.Errorf("value of %q is not a string", key)
		}
		md[key] = s
		return nil
	})
	return md, err
}

// parseInfo parses one tensor entry. Field names are matched exactly (not
// case-insensitively as encoding/json would); unknown fields are ignored,
// as serde does.
func parseInfo(raw json.RawMessage) (*TensorInfo, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("entry is not an object")
	}
	ti := &TensorInfo{}
	var haveDType, haveShape, haveOffsets bool
	err := forEachMember(raw, func(key string, v json.RawMessage) error {
		switch key {
		case "dtype":
			if haveDType {
				return fmt.Errorf("duplicate field dtype")
			}
			haveDType = true
			var s string
			if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
				return fmt.Errorf("dtype is not a string")
			}
			ti.DType = DType(s)
		case "shape":
			if haveShape {
				return fmt.Errorf("duplicate field shape")
			}
			haveShape = true
			dims, err := parseUints(v, "shape")
			if err != nil {
				return err
			}
			ti.Shape = make([]int, len(dims))
			for i, d := range dims {
				if d > math.MaxInt64 {
					return fmt.Errorf("shape dimension %d too large", d)
				}
				ti.Shape[i] = int(d)
			}
		case "data_offsets":
			if haveOffsets {
				return fmt.Errorf("duplicate field data_offsets")
			}
			haveOffsets = true
			offs, err := parseUints(v, "data_offsets")
			if err != nil {
				return err
			}
			if len(offs) != 2 {
				return fmt.Errorf("data_offsets must be [begin, end], got %d numbers", len(offs))
			}
			if offs[0] > math.MaxInt64 || offs[1] > math.MaxInt64 {
				return fmt.Errorf("data_offsets %v too large", offs)
			}
			ti.Begin, ti.End = int64(offs[0]), int64(offs[1])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case !haveDType:
		return nil, fmt.Errorf("missing field dtype")
	case !haveShape:
		return nil, fmt.Errorf("missing field shape")
	case !haveOffsets:
		return nil, fmt.Errorf("missing field data_offsets")
	}
	return ti, nil
}

// parseUints parses a JSON array of non-negative integers (no fraction, no
// exponent, no sign: what serde accepts for usize).
func parseUints(raw json.RawMessage, what string) ([]uint64, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("%s is not an array", what)
	}
	var out []uint64
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", what, err)
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s holds %v, not an integer", what, tok)
		}
		u, err := strconv.ParseUint(string(num), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s holds %s, not an unsigned 64-bit integer", what, num)
		}
		out = append(out, u)
	}
	return out, nil
}
