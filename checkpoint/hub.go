package checkpoint

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/progress"
)

// The files ResolveModel fetches besides config.json and the weights; each
// is optional.
var tokenizerFiles = []string{
	"tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "merges.txt", "special_tokens_map.json",
}

// progressMin is the size from which a download shows progress.
var progressMin int64 = 10 << 20

const userAgent = "subtune (+https://github.com/subtune/subtune)"

// hub fetches model repositories from a server with the HuggingFace hub's
// resolve URLs into a huggingface_hub-style cache.
type hub struct {
	endpoint string
	token    string
	cache    string
	offline  bool
	progress io.Writer
	client   *http.Client
}

func newHub(opts HubOptions) *hub {
	h := &hub{endpoint: opts.Endpoint, token: opts.Token, cache: CacheDir(opts.CacheDir),
		offline: opts.Offline || envTrue("HF_HUB_OFFLINE") || envTrue("TRANSFORMERS_OFFLINE"), progress: opts.Progress}
	if h.endpoint == "" {
		h.endpoint = os.Getenv("HF_ENDPOINT")
	}
	if h.endpoint == "" {
		h.endpoint = DefaultEndpoint
	}
	h.endpoint = strings.TrimRight(h.endpoint, "/")
	if h.token == "" {
		h.token = os.Getenv("HF_TOKEN")
	}
	if h.progress == nil {
		h.progress = os.Stderr
	}
	var c http.Client
	if opts.Client != nil {
		c = *opts.Client
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = 60 * time.Second
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
	h.client = &c
	return h
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

// fileMeta is what a HEAD request on a resolve URL tells about a file.
type fileMeta struct {
	commit   string // X-Repo-Commit, or "" if the server sent none
	etag     string // X-Linked-Etag or ETag, unquoted; "" if none or unusable
	size     int64  // X-Linked-Size or Content-Length; -1 if unknown
	location string // where to GET the content
}

// errEntryNotFound marks a file the repository does not have.
var errEntryNotFound = errors.New("file not in the repository")

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

// head asks for a file's metadata. A missing file is errEntryNotFound, with
// the commit filled in when the server said which commit lacks it.
func (h *hub) head(ctx context.Context, repo, rev, file string) (fileMeta, error) {
	req, err := h.newRequest(ctx, http.MethodHead, h.fileURL(repo, rev, file))
	if err != nil {
		return fileMeta{}, err
	}
	req.Header.Set("Accept-Encoding", "identity") // so Content-Length is the file's size
	resp, err := h.client.Do(req)
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
		hint := "then set HF_TOKEN to an access token of that account"
		if h.token != "" {
			hint = "and check that the token in HF_TOKEN belongs to an account that was granted access"
		}
		return fmt.Errorf("%s is a gated or restricted repository on %s%s: request access at %s/%s, %s",
			repo, h.endpoint, detail, h.endpoint, repo, hint)
	case code == "RepoNotFound" || resp.StatusCode == http.StatusUnauthorized:
		hint := "HF_TOKEN is not set"
		if h.token != "" {
			hint = "the token in HF_TOKEN cannot read it"
		}
		return fmt.Errorf("%w: %s is not a model on %s, or it is private and %s%s (and there is no local folder of that name)",
			ErrNoModel, repo, h.endpoint, hint, detail)
	case code == "RevisionNotFound":
		return fmt.Errorf("%w: %s has no revision %q on %s%s", ErrNoModel, repo, rev, h.endpoint, detail)
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

// snapshot is one revision being fetched.
type snapshot struct {
	h       *hub
	repo    string
	rev     string // what the user asked for
	urlRev  string // the commit once known, else rev
	repoDir string // <cache>/models--org--name
	name    string // the snapshot folder: the commit, or the escaped revision
	commit  bool   // name is a commit the server confirmed
}

func (s *snapshot) dir() string             { return filepath.Join(s.repoDir, "snapshots", s.name) }
func (s *snapshot) pointer(f string) string { return filepath.Join(s.dir(), filepath.FromSlash(f)) }
func (s *snapshot) noExist(f string) string {
	return filepath.Join(s.repoDir, ".no_exist", s.name, filepath.FromSlash(f))
}

// fetchSnapshot downloads what subtune needs of repo at rev and returns
// the snapshot folder.
func (h *hub) fetchSnapshot(ctx context.Context, repo, rev string) (string, error) {
	repoDir := filepath.Join(h.cache, repoFolder(repo))
	if commitPattern.MatchString(rev) {
		if dir, err := complete(repoDir, rev, true); err == nil {
			return dir, nil
		}
	}
	// config.json first: its answer fixes the commit for every other file.
	meta, err := h.head(ctx, repo, rev, "config.json")
	if errors.Is(err, errEntryNotFound) {
		return "", fmt.Errorf("%w: %s has no config.json at revision %s on %s; is it a BERT or RoBERTa model repository?",
			ErrNoModel, repo, rev, h.endpoint)
	}
	if err != nil {
		return "", err
	}
	s := &snapshot{h: h, repo: repo, rev: rev, urlRev: rev, repoDir: repoDir, name: url.PathEscape(rev)}
	if meta.commit != "" {
		s.urlRev, s.name, s.commit = meta.commit, meta.commit, true
		if meta.commit != rev {
			if err := writeRef(repoDir, rev, meta.commit); err != nil {
				return "", err
			}
		}
	}
	if _, err := os.Stat(s.pointer("config.json")); err != nil {
		if err := s.store(ctx, "config.json", meta); err != nil {
			return "", err
		}
	}

	found, err := s.get(ctx, "model.safetensors")
	if err != nil {
		return "", err
	}
	if !found {
		if found, err = s.get(ctx, "model.safetensors.index.json"); err != nil {
			return "", err
		}
		if !found {
			return "", s.noSafetensors(ctx)
		}
		shards, err := weightFiles(s.dir())
		if err != nil {
			return "", err
		}
		for _, p := range shards {
			shard := filepath.Base(p)
			ok, err := s.get(ctx, shard)
			if err != nil {
				return "", err
			}
			if !ok {
				return "", fmt.Errorf("%s at revision %s: model.safetensors.index.json names shard %s, which the repository does not have",
					repo, rev, shard)
			}
		}
	}
	for _, f := range tokenizerFiles {
		if _, err := s.get(ctx, f); err != nil {
			return "", err
		}
	}
	return s.dir(), nil
}

// get makes file present in the snapshot, from the cache if it can. It
// reports false, with no error, when the repository does not have it.
func (s *snapshot) get(ctx context.Context, file string) (bool, error) {
	if _, err := os.Stat(s.pointer(file)); err == nil {
		return true, nil
	}
	if _, err := os.Stat(s.noExist(file)); err == nil {
		return false, nil
	}
	meta, err := s.h.head(ctx, s.repo, s.urlRev, file)
	if errors.Is(err, errEntryNotFound) {
		if s.commit {
			// Remember, as huggingface_hub does, so that later runs
			// (and offline ones) need not ask again.
			if os.MkdirAll(filepath.Dir(s.noExist(file)), 0o755) == nil {
				_ = os.WriteFile(s.noExist(file), nil, 0o644)
			}
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, s.store(ctx, file, meta)
}

// noSafetensors explains a repository without safetensors weights.
func (s *snapshot) noSafetensors(ctx context.Context) error {
	for _, legacy := range []string{"pytorch_model.bin", "pytorch_model.bin.index.json"} {
		if _, err := os.Stat(s.pointer(legacy)); err == nil {
			return s.pytorchOnly(legacy)
		}
		_, err := s.h.head(ctx, s.repo, s.urlRev, legacy)
		if err == nil {
			return s.pytorchOnly(legacy)
		}
		if !errors.Is(err, errEntryNotFound) {
			return err
		}
	}
	return fmt.Errorf("%s at revision %s on %s has no model.safetensors or model.safetensors.index.json", s.repo, s.rev, s.h.endpoint)
}

func (s *snapshot) pytorchOnly(legacy string) error {
	return fmt.Errorf("%s at revision %s on %s holds only %s; subtune reads safetensors. "+
		"Download it once (`huggingface-cli download %s --revision %s --local-dir DIR`), convert it with Python: %s, and pass DIR as the model "+
		"(or name a revision of the repository that has model.safetensors, as %s@REVISION)",
		s.repo, s.rev, s.h.endpoint, legacy, s.repo, s.rev, convertCommand("DIR/pytorch_model.bin", "DIR/model.safetensors"), s.repo)
}

// convertCommand is a Python one-liner that turns a PyTorch state dict into
// safetensors with every tensor under its own name — a fine-tuned
// classifier included, which a round trip through AutoModel would drop.
// Tied tensors are cloned, since safetensors refuses shared storage.
func convertCommand(bin, out string) string {
	return fmt.Sprintf("`python -c \"import torch; from safetensors.torch import save_file; "+
		"sd = torch.load('%s', map_location='cpu'); "+
		"save_file({k: v.clone().contiguous() for k, v in sd.items()}, '%s', metadata={'format': 'pt'})\"`", bin, out)
}

// store downloads a file whose metadata is known into the blobs (unless the
// blob is already there) and links it into the snapshot.
func (s *snapshot) store(ctx context.Context, file string, meta fileMeta) error {
	blob, err := s.h.download(ctx, s.repoDir, s.repo, file, meta)
	if err != nil {
		return err
	}
	return link(blob, s.pointer(file))
}

// download fetches a file into <repoDir>/blobs and returns the blob's path.
func (h *hub) download(ctx context.Context, repoDir, repo, file string, meta fileMeta) (string, error) {
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
	what := repo + " " + file
	req, err := h.newRequest(ctx, http.MethodGet, meta.location)
	if err != nil {
		return "", err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return "", h.requestErr(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if e, perr := url.Parse(h.endpoint); perr == nil && e.Host == resp.Request.URL.Host {
			if err := h.statusErr(resp, repo, "", file); !errors.Is(err, errEntryNotFound) {
				return "", fmt.Errorf("downloading %s: %w", what, err)
			}
		}
		return "", fmt.Errorf("downloading %s: %s answered %s", what, resp.Request.URL.Host, resp.Status)
	}
	size := meta.size
	if size < 0 {
		size = resp.ContentLength
	} else if resp.ContentLength >= 0 && resp.ContentLength != size && resp.Header.Get("Content-Encoding") == "" {
		return "", fmt.Errorf("downloading %s: the hub announced %d bytes but the download is %d bytes", what, size, resp.ContentLength)
	}

	tmp, err := os.CreateTemp(blobs, "*.incomplete")
	if err != nil {
		return "", fmt.Errorf("hub cache: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	sum := sha256.New()
	var dst io.Writer = io.MultiWriter(tmp, sum)
	var bar *progress.Bytes
	if size >= progressMin {
		bar = progress.NewBytes(h.progress, what, size)
		dst = io.MultiWriter(dst, bar)
	}
	n, err := io.CopyBuffer(dst, resp.Body, make([]byte, 1<<20))
	if bar != nil {
		bar.Finish(err == nil)
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("downloading %s: %w", what, ctx.Err())
		}
		if errors.Is(err, io.ErrUnexpectedEOF) && size >= 0 {
			return "", fmt.Errorf("downloading %s: connection closed after %d of %d bytes (truncated download; nothing was kept, run again)", what, n, size)
		}
		return "", fmt.Errorf("downloading %s: %w (after %d bytes; nothing was kept)", what, err, n)
	}
	if size >= 0 && n != size {
		return "", fmt.Errorf("downloading %s: got %d bytes, want %d (truncated download; nothing was kept, run again)", what, n, size)
	}
	got := hex.EncodeToString(sum.Sum(nil))
	if sha256Pattern.MatchString(meta.etag) && got != meta.etag {
		return "", fmt.Errorf("downloading %s: SHA-256 of the %d bytes received is %s, the hub says %s (corrupted download; nothing was kept)",
			what, n, got, meta.etag)
	}
	name := meta.etag
	if name == "" {
		name = got
	}
	blob := filepath.Join(blobs, name)
	if err := tmp.Chmod(0o644); err != nil {
		return "", fmt.Errorf("hub cache: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("hub cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("hub cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), blob); err != nil {
		return "", fmt.Errorf("hub cache: %w", err)
	}
	committed = true
	return blob, nil
}

// link points the snapshot file at its blob with a relative symlink, as
// huggingface_hub does, or copies the blob where symlinks fail. The link is
// made under a temporary name and renamed into place.
func link(blob, pointer string) error {
	if err := os.MkdirAll(filepath.Dir(pointer), 0o755); err != nil {
		return fmt.Errorf("hub cache: %w", err)
	}
	tmp := pointer + ".tmp-" + randomSuffix()
	rel, err := filepath.Rel(filepath.Dir(pointer), blob)
	if err != nil {
		rel = blob
	}
	if err := os.Symlink(rel, tmp); err != nil {
		if err := copyFile(blob, tmp); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("hub cache: %w", err)
		}
	}
	if err := os.Rename(tmp, pointer); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("hub cache: %w", err)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// writeRef records the commit a branch or tag resolved to.
func writeRef(repoDir, rev, commit string) error {
	path := filepath.Join(repoDir, "refs", filepath.FromSlash(rev))
	if old, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(old)) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("hub cache: %w", err)
	}
	return atomicfile.WriteFile(path, func(w io.Writer) error {
		_, err := io.WriteString(w, commit)
		return err
	})
}

// cached returns the cached snapshot of repo at rev without any request.
func (h *hub) cached(repo, rev string) (string, error) {
	repoDir := filepath.Join(h.cache, repoFolder(repo))
	name := url.PathEscape(rev)
	if !commitPattern.MatchString(rev) {
		if b, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(rev))); err == nil {
			if c := strings.TrimSpace(string(b)); safeName.MatchString(c) {
				name = c
			}
		}
	}
	dir, err := complete(repoDir, name, false)
	if err != nil {
		how := "offline mode is on (HF_HUB_OFFLINE)"
		if !h.offline {
			how = "the hub could not be reached"
		}
		return "", fmt.Errorf("%s and %s at revision %s is not in the hub cache at %s (%v); run once with network access, or pass the path of a local model folder",
			how, repo, rev, h.cache, err)
	}
	return dir, nil
}

// complete checks that a cached snapshot holds config.json and the
// weights; strict also wants every tokenizer file either present or known
// to be absent.
func complete(repoDir, name string, strict bool) (string, error) {
	dir := filepath.Join(repoDir, "snapshots", name)
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return "", errors.New("no cached config.json")
	}
	shards, err := weightFiles(dir)
	if err != nil {
		return "", err
	}
	for _, p := range shards {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("shard %s is not cached", filepath.Base(p))
		}
	}
	if strict {
		for _, f := range tokenizerFiles {
			_, err1 := os.Stat(filepath.Join(dir, f))
			_, err2 := os.Stat(filepath.Join(repoDir, ".no_exist", name, f))
			if err1 != nil && err2 != nil {
				return "", fmt.Errorf("%s not cached", f)
			}
		}
	}
	return dir, nil
}
