package hfhub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/subtune/subtune/progress"
)

// streamError is a download cut short while its body streamed (a dropped
// connection, a stalled body, a short answer): worth resuming.
type streamError struct{ err error }

func (e streamError) Error() string { return e.err.Error() }
func (e streamError) Unwrap() error { return e.err }

// download fetches a file into <repoDir>/blobs and returns the blob's path.
// A download cut short is resumed from where it stopped, with a Range
// request, up to h.retries times; one that still fails leaves its bytes in
// blobs/<etag>.incomplete, where the next run resumes, as huggingface_hub
// does. The content's size and, for LFS files (whose ETag is the SHA-256),
// its hash are checked before the blob is renamed into place.
func (h *hub) download(ctx context.Context, repoDir, what string, meta fileMeta) (string, error) {
	blobs := filepath.Join(repoDir, "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return "", fmt.Errorf("hub cache: %w", err)
	}
	if meta.etag != "" {
		blob := filepath.Join(blobs, meta.etag)
		if st, err := os.Stat(blob); err == nil && st.Mode().IsRegular() && (meta.size < 0 || st.Size() == meta.size) {
			return blob, nil
		}
	}
	p, err := openPartial(blobs, meta.etag)
	if err != nil {
		return "", err
	}
	defer p.close()
	for attempt := 0; ; attempt++ {
		err := h.fetch(ctx, p, meta, what)
		if err == nil {
			break
		}
		var se streamError
		if !errors.As(err, &se) || attempt >= h.retries || ctx.Err() != nil {
			if se.err != nil && p.keep {
				err = fmt.Errorf("%w; the bytes received are kept in %s and the next run resumes from there", err, p.f.Name())
			}
			return "", fmt.Errorf("downloading %s: %w", what, err)
		}
		fmt.Fprintf(h.progress, "downloading %s: %v; resuming in %s (%d of %d)\n", what, err, h.retryWait, attempt+1, h.retries)
		if err := sleep(ctx, h.retryWait); err != nil {
			return "", fmt.Errorf("downloading %s: %w", what, err)
		}
	}
	return p.commit(blobs, meta, what)
}

// fetch appends to p the bytes of the file it lacks.
func (h *hub) fetch(ctx context.Context, p *partial, meta fileMeta, what string) error {
	have, err := p.f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("hub cache: %w", err)
	}
	if meta.size >= 0 && have == meta.size {
		return nil
	}
	if meta.size >= 0 && have > meta.size {
		if have, err = 0, p.reset(); err != nil {
			return err
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := h.newRequest(rctx, http.MethodGet, meta.location)
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := h.do(req)
	if err != nil {
		return h.requestErr(ctx, err)
	}
	defer resp.Body.Close()
	if have, err = h.startAt(p, resp, have, what); err != nil {
		return err
	}
	size := meta.size
	if size < 0 && resp.ContentLength >= 0 {
		size = have + resp.ContentLength
	} else if resp.ContentLength >= 0 && have+resp.ContentLength != size && resp.Header.Get("Content-Encoding") == "" {
		return fmt.Errorf("the hub announced %d bytes but the download is %d bytes", size, have+resp.ContentLength)
	}
	return h.stream(p, resp.Body, have, size, what, cancel)
}

// startAt checks that the answer continues the file at byte have, or
// starts p over when the server sends the whole file; it returns where
// the answer's body starts.
func (h *hub) startAt(p *partial, resp *http.Response, have int64, what string) (int64, error) {
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != have {
			return 0, errors.Join(streamError{fmt.Errorf("asked for bytes from %d, got Content-Range %q", have, resp.Header.Get("Content-Range"))}, p.reset())
		}
		return have, nil
	case resp.StatusCode == http.StatusOK:
		if have > 0 {
			fmt.Fprintf(h.progress, "downloading %s: the server sent the whole file instead of the bytes from %d; starting over\n", what, have)
			return 0, p.reset()
		}
		return 0, nil
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return 0, errors.Join(streamError{fmt.Errorf("the server cannot resume at byte %d (%s)", have, resp.Status)}, p.reset())
	}
	if e, err := url.Parse(h.endpoint); err == nil && e.Host == resp.Request.URL.Host {
		if err := h.statusErr(resp, "", "", what); !errors.Is(err, errEntryNotFound) {
			return 0, err
		}
	}
	return 0, fmt.Errorf("%s answered %s", resp.Request.URL.Host, resp.Status)
}

// rangeStart reads the first byte of "bytes first-last/size".
func rangeStart(v string) (int64, bool) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(rest, "-")
	n, err := strconv.ParseInt(first, 10, 64)
	return n, ok && err == nil
}

// stream copies body to the end of p, dropping the request (cancel) when
// no byte arrives for h.idle.
func (h *hub) stream(p *partial, body io.Reader, have, size int64, what string, cancel func()) error {
	ir := newIdleReader(body, h.idle, cancel)
	defer ir.stop()
	var dst io.Writer = p.f
	var bar *progress.Bytes
	if size >= progressMin {
		bar = progress.NewBytes(h.progress, what, size, have)
		dst = io.MultiWriter(dst, bar)
	}
	n, err := io.CopyBuffer(dst, ir, make([]byte, 1<<20))
	if bar != nil {
		bar.Finish(err == nil)
	}
	switch {
	case err != nil && ir.err == nil:
		return fmt.Errorf("hub cache: %w", err) // writing, not reading, failed
	case err != nil && size >= 0:
		return streamError{fmt.Errorf("connection dropped after %d of %d bytes: %w", have+n, size, err)}
	case err != nil:
		return streamError{fmt.Errorf("connection dropped after %d bytes: %w", have+n, err)}
	case size >= 0 && have+n != size:
		return streamError{fmt.Errorf("got %d bytes, want %d (truncated download)", have+n, size)}
	}
	return nil
}

// idleReader fails a read that waits longer than d for data, by
// cancelling the request: a read deadline that restarts with every chunk,
// unlike a deadline on the whole download.
type idleReader struct {
	r       io.Reader
	d       time.Duration
	t       *time.Timer
	stalled atomic.Bool
	err     error // the read error returned, other than io.EOF
}

func newIdleReader(r io.Reader, d time.Duration, cancel func()) *idleReader {
	ir := &idleReader{r: r, d: d}
	ir.t = time.AfterFunc(d, func() {
		ir.stalled.Store(true)
		cancel()
	})
	return ir
}

func (ir *idleReader) Read(b []byte) (int, error) {
	n, err := ir.r.Read(b)
	if n > 0 {
		ir.t.Reset(ir.d)
	}
	if err != nil && err != io.EOF {
		if ir.stalled.Load() {
			err = fmt.Errorf("no data for %s (HF_HUB_DOWNLOAD_TIMEOUT)", ir.d)
		}
		ir.err = err
	}
	return n, err
}

func (ir *idleReader) stop() { ir.t.Stop() }

// hashFile returns the SHA-256 of f's content and its size.
func hashFile(f *os.File) (string, int64, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, 1<<20))
	return hex.EncodeToString(h.Sum(nil)), n, err
}
