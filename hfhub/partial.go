package hfhub

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// partial is a download in progress. Named after the ETag
// (blobs/<etag>.incomplete, as huggingface_hub names it) it outlives a
// failed run, which the next one resumes; it is locked while in use, and a
// run that finds it locked by another downloads into a private temporary
// file instead.
type partial struct {
	f    *os.File
	keep bool // named after the ETag: left for the next run on failure
	done bool
}

func openPartial(blobs, etag string) (*partial, error) {
	if etag != "" {
		f, err := os.OpenFile(filepath.Join(blobs, etag+".incomplete"), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("hub cache: %w", err)
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			return &partial{f: f, keep: true}, nil
		}
		f.Close()
	}
	f, err := os.CreateTemp(blobs, "*.tmp.incomplete")
	if err != nil {
		return nil, fmt.Errorf("hub cache: %w", err)
	}
	return &partial{f: f}, nil
}

// reset empties the file, for a download that starts over.
func (p *partial) reset() error {
	if err := p.f.Truncate(0); err != nil {
		return fmt.Errorf("hub cache: %w", err)
	}
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("hub cache: %w", err)
	}
	return nil
}

// close releases the file; an unfinished private one is removed.
func (p *partial) close() {
	if p.done {
		return
	}
	p.f.Close()
	if !p.keep {
		os.Remove(p.f.Name())
	}
}

// commit checks the complete file against meta and renames it into blobs
// under its ETag, or its SHA-256 when the server sent none.
func (p *partial) commit(blobs string, meta fileMeta, what string) (string, error) {
	sum, n, err := hashFile(p.f)
	if err != nil {
		return "", fmt.Errorf("hub cache: %w", err)
	}
	if meta.size >= 0 && n != meta.size {
		return "", fmt.Errorf("downloading %s: got %d bytes, want %d", what, n, meta.size)
	}
	if sha256Pattern.MatchString(meta.etag) && sum != meta.etag {
		p.keep = false // corrupt: the next run starts over
		return "", fmt.Errorf("downloading %s: SHA-256 of the %d bytes received is %s, the hub says %s (corrupted download; nothing was kept)",
			what, n, sum, meta.etag)
	}
	name := meta.etag
	if name == "" {
		name = sum
	}
	blob := filepath.Join(blobs, name)
	if err := p.f.Chmod(0o644); err != nil {
		return "", fmt.Errorf("hub cache: %w", err)
	}
	if err := p.f.Sync(); err != nil {
		return "", fmt.Errorf("hub cache: %w", err)
	}
	// Renamed while still locked, so no other run appends to it meanwhile.
	if err := os.Rename(p.f.Name(), blob); err != nil {
		return "", fmt.Errorf("hub cache: %w", err)
	}
	p.done = true
	if err := p.f.Close(); err != nil {
		return "", fmt.Errorf("hub cache: %w", err)
	}
	return blob, nil
}
