package hfhub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ErrNoModel reports a model name that is neither a folder nor a model on
// the hub.
var ErrNoModel = errors.New("no such model")

// ErrHubUnreachable is wrapped by Resolve's error when the hub cannot be
// reached at all (no network, DNS failure, connection refused, 5xx, ...).
var ErrHubUnreachable = errors.New("cannot reach the HuggingFace hub")

// errEntryNotFound marks a file the repository does not have.
var errEntryNotFound = errors.New("file not in the repository")

// notFoundError is the hub saying that a revision, or the config.json of
// a model, does not exist. Unlike any other failure it is final: the
// cache is not consulted, as huggingface_hub does not for
// RevisionNotFound and EntryNotFound.
type notFoundError struct{ err error }

func (e notFoundError) Error() string { return e.err.Error() }
func (e notFoundError) Unwrap() error { return e.err }

// fileMeta is what a HEAD request on a resolve URL tells about a file.
type fileMeta struct {
	commit   string // X-Repo-Commit, or "" if the server sent none
	etag     string // X-Linked-Etag or ETag, unquoted; "" if none or unusable
	size     int64  // X-Linked-Size or Content-Length; -1 if unknown
	location string // where to GET the content
}

// head asks for a file's metadata. A missing file is errEntryNotFound.
func (h *hub) head(ctx context.Context, repo, rev, file string) (fileMeta, error) {
	req, err := h.newRequest(ctx, http.MethodHead, h.fileURL(repo, rev, file))
	if err != nil {
		return fileMeta{}, err
	}
	req.Header.Set("Accept-Encoding", "identity") // so Content-Length is the file's size
	resp, err := h.do(req)
	if err != nil {
		return fileMeta{}, h.requestErr(ctx, err)
	}
	resp.Body.Close()
	m := fileMeta{commit: chainHeader(resp, "X-Repo-Commit"), size: -1, location: resp.Request.URL.String()}
	if m.commit != "" && !safeName.MatchString(m.commit) {
		return fileMeta{}, fmt.Errorf("hub at %s sent an invalid X-Repo-Commit %q for %s", h.endpoint, m.commit, file)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		loc, err := resp.Location()
		if err != nil {
			return fileMeta{}, fmt.Errorf("hub at %s redirected %s of %s without a usable Location: %v", h.endpoint, file, repo, err)
		}
		m.location = loc.String()
	default:
		return m, h.statusErr(resp, repo, rev, file)
	}
	etag := chainHeader(resp, "X-Linked-Etag")
	if etag == "" {
		etag = resp.Header.Get("ETag")
	}
	etag = strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
	if safeName.MatchString(etag) {
		m.etag = etag
	}
	if s := chainHeader(resp, "X-Linked-Size"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			m.size = n
		}
	} else if resp.StatusCode == http.StatusOK && resp.ContentLength >= 0 {
		m.size = resp.ContentLength
	}
	return m, nil
}

// chainHeader is a header of the response, or of the redirects that led to
// it (the hub sends the commit with its first answer; a redirect within
// the hub need not repeat it).
func chainHeader(resp *http.Response, key string) string {
	for r := resp; r != nil; {
		if v := r.Header.Get(key); v != "" {
			return v
		}
		if r.Request == nil {
			break
		}
		r = r.Request.Response
	}
	return ""
}

// requestErr explains a request that got no answer.
func (h *hub) requestErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("hub download: %w", ctx.Err())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	reason := err.Error()
	if errors.As(err, &ne) && ne.Timeout() {
		reason = "timed out: " + reason
	}
	return fmt.Errorf("%w at %s (%s). Check the network connection (and HF_ENDPOINT), "+
		"or pass the path of a local model folder (config.json and model.safetensors) instead of a hub name; "+
		"with HF_HUB_OFFLINE=1, models already in the cache at %s are used without network",
		ErrHubUnreachable, h.endpoint, reason, h.cache)
}

// statusErr explains an error status from the hub, using its X-Error-Code
// (RepoNotFound, GatedRepo, RevisionNotFound, EntryNotFound) when it sends
// one.
func (h *hub) statusErr(resp *http.Response, repo, rev, file string) error {
	code := resp.Header.Get("X-Error-Code")
	detail := ""
	if msg := resp.Header.Get("X-Error-Message"); msg != "" {
		detail = " (" + msg + ")"
	}
	st := resp.Status
	switch {
	case code == "GatedRepo" || resp.StatusCode == http.StatusForbidden:
		hint := "then set HF_TOKEN (or pass --token) to an access token of that account"
		if h.token != "" {
			hint = "and check that the token from " + h.tokenSource + " belongs to an account that was granted access"
		}
		return fmt.Errorf("%s is a gated or restricted repository on %s%s: request access at %s/%s, %s",
			repo, h.endpoint, detail, h.endpoint, repo, hint)
	case code == "RepoNotFound" || resp.StatusCode == http.StatusUnauthorized:
		hint := "no token is set (HF_TOKEN or --token)"
		if h.token != "" {
			hint = "the token from " + h.tokenSource + " cannot read it"
		}
		return fmt.Errorf("%w: %s is not a model on %s, or it is private and %s%s (and there is no local folder of that name)",
			ErrNoModel, repo, h.endpoint, hint, detail)
	case code == "RevisionNotFound":
		return notFoundError{fmt.Errorf("%w: %s has no revision %q on %s%s", ErrNoModel, repo, rev, h.endpoint, detail)}
	case code == "EntryNotFound" || resp.StatusCode == http.StatusNotFound:
		return errEntryNotFound
	case resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("the hub at %s is rate-limiting requests (%s) for %s of %s; wait and retry, set HF_TOKEN, or pass a local model folder",
			h.endpoint, st, file, repo)
	case resp.StatusCode >= 500:
		return fmt.Errorf("%w: %s answered %s for %s of %s; try again later, or pass the path of a local model folder",
			ErrHubUnreachable, h.endpoint, st, file, repo)
	}
	return fmt.Errorf("the hub at %s answered %s for %s of %s%s", h.endpoint, st, file, repo, detail)
}
