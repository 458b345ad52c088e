package torchbin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// legacyMagic is torch's MAGIC_NUMBER, 0x1950a86a20f9469cfc6c, as the
// little-endian bytes LONG1 pickles it in.
const legacyMagic = bigInt("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")

// legacyProtocol is torch's PROTOCOL_VERSION.
const legacyProtocol = 1001

// readLegacy reads the format of torch.save before torch 1.6 (and with
// _use_new_zipfile_serialization=False): five pickles in a row — the magic
// number, the protocol version, a dict of system facts, the state dict,
// the list of storage keys — then, for each key in that order, the
// storage's element count as a little-endian int64 and its elements.
func readLegacy(r io.ReaderAt, size int64) (any, error) {
	for n := int64(1 << 20); ; n *= 4 {
		prefix, err := readPrefix(r, size, min(n, MaxPickleSize))
		if err != nil {
			return nil, err
		}
		sd, ss, keys, end, err := legacyPickles(prefix)
		if errors.Is(err, errTruncated) && int64(len(prefix)) < min(size, MaxPickleSize) {
			continue // the pickles go on past what was read
		}
		if err != nil {
			return nil, err
		}
		return sd, locateLegacy(r, size, ss, keys, int64(end))
	}
}

// legacyPickles parses the five pickles at the start of a legacy file and
// returns the state dict, its storages, the storage keys in file order
// and the offset where the storages' data begins.
func legacyPickles(in []byte) (sd any, ss storages, keys []string, end int, err error) {
	next := func(what string, persistent func(any) (any, error)) (any, error) {
		v, n, err := unpickle(in[end:], persistent)
		if err != nil {
			return nil, fmt.Errorf("%s pickle at byte %d: %w", what, end, err)
		}
		end += n
		return v, nil
	}
	magic, err := next("magic number", nil)
	if errors.Is(err, ErrForbidden) {
		return nil, nil, nil, 0, err
	}
	if err != nil || magic != legacyMagic {
		return nil, nil, nil, 0, fmt.Errorf("%w: neither a zip archive nor a pickle starting with torch.save's magic number", ErrInvalid)
	}
	v, err := next("protocol", nil)
	if err == nil && v != int64(legacyProtocol) {
		err = fmt.Errorf("%w: protocol version %s, want %d", ErrInvalid, describeInt(v), legacyProtocol)
	}
	if err != nil {
		return nil, nil, nil, 0, err
	}
	info, err := next("system information", nil)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	if d, ok := info.(*dict); !ok || d.vals["little_endian"] == false {
		return nil, nil, nil, 0, fmt.Errorf("%w: saved on a big-endian machine, or system information missing", ErrUnsupported)
	}
	ss = storages{}
	if sd, err = next("state dict", func(pid any) (any, error) { return ss.load(pid, true) }); err != nil {
		return nil, nil, nil, 0, err
	}
	v, err = next("storage keys", nil)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	l, ok := v.(*list)
	if !ok {
		return nil, nil, nil, 0, fmt.Errorf("%w: storage keys are a %s, not a list", ErrInvalid, typeName(v))
	}
	for _, k := range l.items {
		key, ok := k.(string)
		if !ok {
			return nil, nil, nil, 0, fmt.Errorf("%w: a storage key is a %s", ErrInvalid, typeName(k))
		}
		keys = append(keys, key)
	}
	return sd, ss, keys, end, nil
}

// locateLegacy walks the storages after the pickles, checking each
// element count against the pickle's.
func locateLegacy(r io.ReaderAt, size int64, ss storages, keys []string, pos int64) error {
	for _, key := range keys {
		s, ok := ss[key]
		if !ok || s.found {
			return fmt.Errorf("%w: storage key %q is unknown or repeated", ErrInvalid, key)
		}
		var hdr [8]byte
		if pos > size-8 || readFull(r, hdr[:], pos) != nil {
			return fmt.Errorf("%w: storage %q: truncated at byte %d", ErrInvalid, key, pos)
		}
		count := int64(binary.LittleEndian.Uint64(hdr[:]))
		n, ok := s.byteSize(size)
		if count != s.numel || !ok || n > size-pos-8 {
			return fmt.Errorf("%w: storage %q: %d elements of %s at byte %d, the pickle says %d, the file has %d bytes",
				ErrInvalid, key, count, s.dtype, pos, s.numel, size)
		}
		s.off, s.found = pos+8, true
		pos += 8 + n
	}
	for key, s := range ss {
		if !s.found {
			return fmt.Errorf("%w: storage %q has no data", ErrInvalid, key)
		}
	}
	return nil
}
