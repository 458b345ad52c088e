package hfhub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const userAgent = "subtune (+https://github.com/subtune/subtune)"

// hub fetches model repositories from a server with the HuggingFace hub's
// resolve URLs into a huggingface_hub-style cache.
type hub struct {
	endpoint    string
	token       string
	tokenSource string // where token came from, for error messages
	cache       string
	offline     bool
	progress    io.Writer
	client      *http.Client
	idle        time.Duration
	retries     int
	retryWait   time.Duration
}

func newHub(opts Options) (*hub, error) {
	h := &hub{endpoint: opts.Endpoint, cache: CacheDir(opts.CacheDir), offline: opts.offline(),
		progress: opts.Progress, retries: opts.Retries, retryWait: opts.RetryWait}
	var err error
	if h.token, h.tokenSource, err = opts.token(); err != nil {
		return nil, err
	}
	if h.idle, err = opts.idleTimeout(); err != nil {
		return nil, err
	}
	if h.endpoint == "" {
		h.endpoint = os.Getenv("HF_ENDPOINT")
	}
	if h.endpoint == "" {
		h.endpoint = DefaultEndpoint
	}
	h.endpoint = strings.TrimRight(h.endpoint, "/")
	if h.progress == nil {
		h.progress = os.Stderr
	}
	if h.retries == 0 {
		h.retries = 5
	}
	if h.retryWait <= 0 {
		h.retryWait = time.Second
	}
	h.client = newClient(opts.Client, h.idle)
	return h, nil
}

func newClient(base *http.Client, idle time.Duration) *http.Client {
	var c http.Client
	if base != nil {
		c = *base
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = idle
		c.Transport = t
	}
	// A HEAD request follows redirects within the hub (a renamed
	// repository, /api/resolve-cache/ for small files) or from a mirror to
	// the hub, but stops at a redirect elsewhere (the CDN holding an LFS
	// file): that response carries the file's commit, ETag and size.
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.Method == http.MethodHead && req.URL.Host != via[0].URL.Host && !hubHosts[req.URL.Host] {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return &c
}

// hubHosts are the HuggingFace hub's own hosts (not its CDNs).
var hubHosts = map[string]bool{"huggingface.co": true, "hf.co": true}

// repoFolder is huggingface_hub's repo_folder_name for a model.
func repoFolder(repo string) string { return "models--" + strings.ReplaceAll(repo, "/", "--") }

var (
	commitPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)
	sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// safeName is what a commit or ETag must look like to name a folder or
	// file in the cache.
	safeName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

func (h *hub) fileURL(repo, rev, file string) string {
	parts := strings.Split(file, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return h.endpoint + "/" + repo + "/resolve/" + url.PathEscape(rev) + "/" + strings.Join(parts, "/")
}

func (h *hub) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("hub endpoint %q: %w", h.endpoint, err)
	}
	req.Header.Set("User-Agent", userAgent)
	// The token goes to the hub only, never to the CDN a download is
	// redirected to.
	if h.token != "" {
		if e, err := url.Parse(h.endpoint); err == nil && e.Host == req.URL.Host {
			req.Header.Set("Authorization", "Bearer "+h.token)
		}
	}
	return req, nil
}

// do sends a request without a body, repeating it, as huggingface_hub's
// http_backoff does, after a 429 or 5xx answer or a dropped connection:
// up to h.retries times, pausing h.retryWait, then twice as long each
// time up to 8×, or as long as the answer's Retry-After says. The last
// answer is returned as it is, for the caller to explain.
func (h *hub) do(req *http.Request) (*http.Response, error) {
	wait := h.retryWait
	for attempt := 0; ; attempt++ {
		resp, err := h.client.Do(req.Clone(req.Context()))
		if attempt >= h.retries || req.Context().Err() != nil {
			return resp, err
		}
		pause, why := wait, ""
		switch {
		case err != nil && retryableErr(err):
			why = err.Error()
		case err != nil:
			return resp, err
		case retryStatus(resp.StatusCode):
			why = resp.Status
			if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				pause = d
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
		default:
			return resp, nil
		}
		fmt.Fprintf(h.progress, "%s %s: %s; retrying in %s (%d of %d)\n",
			req.Method, req.URL.Redacted(), why, pause.Round(time.Millisecond), attempt+1, h.retries)
		if err := sleep(req.Context(), pause); err != nil {
			return nil, err
		}
		wait = min(2*wait, 8*h.retryWait)
	}
}

// retryStatus reports the statuses worth asking again for.
func retryStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableErr reports a request that failed on its way (a reset or
// timed-out connection), not one that could not start: a refused
// connection or an unknown host fails at once, so that a machine without
// network reaches the cache without waiting.
func retryableErr(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	var dns *net.DNSError
	return !errors.As(err, &dns)
}

// maxRetryAfter bounds the pause a server can ask for.
const maxRetryAfter = 5 * time.Minute

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), maxRetryAfter), true
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
