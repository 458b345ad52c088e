package torchbin

import (
	"archive/zip"
	"fmt"
	"io"
	"strings"
)

// readZip reads the format torch.save writes since torch 1.6: a zip
// archive whose entries sit under one folder, ARCHIVE/data.pkl (the
// pickle), ARCHIVE/data/KEY (one uncompressed entry per storage) and, since
// torch 2.1, ARCHIVE/byteorder. ARCHIVE is the file's name without its
// extension in older versions and "archive" in newer ones, so it is found,
// not assumed.
func readZip(r io.ReaderAt, size int64) (any, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: zip archive: %w", ErrInvalid, err)
	}
	entries := map[string]*zip.File{}
	prefix := ""
	for _, e := range zr.File {
		entries[e.Name] = e
		dir, base, ok := strings.Cut(e.Name, "/")
		if ok && base == "data.pkl" {
			if prefix != "" {
				return nil, fmt.Errorf("%w: two pickles, %sdata.pkl and %s", ErrInvalid, prefix, e.Name)
			}
			prefix = dir + "/"
		}
	}
	if prefix == "" {
		return nil, fmt.Errorf("%w: a zip archive without ARCHIVE/data.pkl, not written by torch.save", ErrInvalid)
	}
	if _, ok := entries[prefix+"constants.pkl"]; ok {
		return nil, fmt.Errorf("%w: a TorchScript archive (torch.jit.save), not a state dict", ErrUnsupported)
	}
	if err := checkByteOrder(entries[prefix+"byteorder"]); err != nil {
		return nil, err
	}
	pkl, err := readEntry(entries[prefix+"data.pkl"], MaxPickleSize)
	if err != nil {
		return nil, err
	}
	ss := storages{}
	sd, n, err := unpickle(pkl, func(pid any) (any, error) { return ss.load(pid, false) })
	if err != nil {
		return nil, fmt.Errorf("%sdata.pkl: %w", prefix, err)
	}
	if n != len(pkl) {
		return nil, fmt.Errorf("%w: %sdata.pkl has %d bytes after its end", ErrInvalid, prefix, len(pkl)-n)
	}
	for _, s := range ss {
		if err := locateEntry(s, entries[prefix+"data/"+s.key], size); err != nil {
			return nil, fmt.Errorf("%sdata/%s: %w", prefix, s.key, err)
		}
	}
	return sd, nil
}

// checkByteOrder accepts a missing byteorder entry (torch < 2.1 wrote
// native order and ran on little-endian machines) or "little".
func checkByteOrder(e *zip.File) error {
	if e == nil {
		return nil
	}
	b, err := readEntry(e, 16)
	if err != nil {
		return err
	}
	if string(b) != "little" {
		return fmt.Errorf("%w: byte order %q (only little-endian files are read)", ErrUnsupported, b)
	}
	return nil
}

// readEntry reads a small entry, compressed or not, refusing more than
// limit bytes.
func readEntry(e *zip.File, limit int64) ([]byte, error) {
	if e.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%w: %s is %d bytes, over the %d-byte limit", ErrInvalid, e.Name, e.UncompressedSize64, limit)
	}
	rc, err := e.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, e.Name, err)
	}
	defer rc.Close()
	b, err := readAll(rc, limit)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, e.Name, err)
	}
	return b, nil
}

// locateEntry points s at its entry's data, which torch stores
// uncompressed so that it can be read in place.
func locateEntry(s *storage, e *zip.File, size int64) error {
	if e == nil {
		return fmt.Errorf("%w: the storage of a tensor is missing", ErrInvalid)
	}
	if e.Method != zip.Store {
		return fmt.Errorf("%w: compressed storage (method %d); torch.save stores tensors uncompressed", ErrUnsupported, e.Method)
	}
	n, ok := s.byteSize(size)
	if !ok || e.UncompressedSize64 != uint64(n) || e.CompressedSize64 != uint64(n) {
		return fmt.Errorf("%w: %d bytes for %d %s elements", ErrInvalid, e.UncompressedSize64, s.numel, s.dtype)
	}
	off, err := e.DataOffset()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if off < 0 || off > size-n {
		return fmt.Errorf("%w: data past the end of the file", ErrInvalid)
	}
	s.off, s.found = off, true
	return nil
}
