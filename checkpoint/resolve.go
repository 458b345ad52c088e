package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// HubOptions tunes ResolveModel. The zero value behaves as huggingface_hub
// does with the same environment.
type HubOptions struct {
	// Endpoint is the hub's base URL. Empty means $HF_ENDPOINT, else
	// https://huggingface.co.
	Endpoint string
	// Token is sent as "Authorization: Bearer <token>" to the endpoint
	// (never to the CDN it redirects large files to). Empty means $HF_TOKEN.
	Token string
	// CacheDir is the hub cache. Empty means $HF_HUB_CACHE, else
	// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
	// ~/.cache/huggingface/hub.
	CacheDir string
	// Revision is the branch, tag or commit to fetch when the name carries
	// no "@revision". Empty means "main".
	Revision string
	// Offline uses the cache only, as HF_HUB_OFFLINE=1 (which also turns it
	// on, as does TRANSFORMERS_OFFLINE=1).
	Offline bool
	// Progress receives download progress of large files and notices such
	// as falling back to the cache. nil means os.Stderr; io.Discard
	// silences it.
	Progress io.Writer
	// Client makes the requests. nil means a client with connect and
	// response-header timeouts but no overall deadline (a checkpoint may
	// take minutes); cancel the context to stop.
	Client *http.Client
}

// DefaultEndpoint is the HuggingFace hub.
const DefaultEndpoint = "https://huggingface.co"

// ErrHubUnreachable is wrapped by ResolveModel's error when the hub cannot
// be reached at all (no network, DNS failure, connection refused, ...).
var ErrHubUnreachable = errors.New("cannot reach the HuggingFace hub")

// ResolveModel returns a local model folder for nameOrPath, the way
// transformers' from_pretrained reads its first argument:
//
//   - an existing directory is returned as it is;
//   - otherwise nameOrPath is a hub model id, "name" or "org/name",
//     optionally followed by "@revision" (a branch, tag or commit hash;
//     default HubOptions.Revision, else "main"), and the files subtune
//     needs are fetched into the hub cache, which is laid out as
//     huggingface_hub lays it out, so Python and subtune share downloads
//     (see below). The returned folder is the snapshot,
//     <cache>/models--org--name/snapshots/<commit>.
//
// Fetched files: config.json; model.safetensors, or
// model.safetensors.index.json and every shard it names; and those of
// tokenizer.json, tokenizer_config.json, vocab.txt, vocab.json, merges.txt
// and special_tokens_map.json that the repository has. A repository with
// only PyTorch weights (pytorch_model.bin) is an error saying how to
// convert it; it is never downloaded.
//
// Each file is requested from {endpoint}/{repo}/resolve/{revision}/{file}
// (HEAD first, for the commit, size and ETag, then GET, following the
// hub's redirect to its CDN). Data streams into a temporary file in the
// cache's blobs folder and is renamed into place only when complete, after
// its size and — for LFS files, whose ETag is the content's SHA-256 — its
// hash are checked; a killed or cancelled download leaves nothing that a
// later run would take for the file. Files larger than 10 MB show progress
// on HubOptions.Progress. Once config.json has fixed the commit, the other
// files are requested at that commit, so one snapshot never mixes commits.
//
// # Cache layout
//
// As huggingface_hub (v0.8 and later) writes it:
//
//	<cache>/models--org--name/
//	    blobs/<etag>                    file contents, named by ETag (git SHA-1, or SHA-256 for LFS files)
//	    refs/<revision>                 the commit a branch or tag last resolved to
//	    snapshots/<commit>/<file>       relative symlinks to ../../blobs/<etag>
//	    .no_exist/<commit>/<file>       empty markers for optional files the repository lacks
//
// Where symlinks are not supported, the snapshot holds a copy. When the
// server sends no commit (not the hub, e.g. a plain file server), the
// snapshot folder is named after the revision instead and no ref is
// written; when it sends no ETag, the blob is named by the SHA-256 of its
// content. huggingface_hub's .locks folder is not used: every write is a
// rename of a complete temporary file, so concurrent runs are safe.
//
// # Network and offline use
//
// With Offline (or HF_HUB_OFFLINE=1) nothing is requested: the cached
// snapshot of the revision is used, or the error says it is not cached.
// A revision that is a full commit hash already in the cache is used
// without a request; otherwise one HEAD request (config.json) checks for a
// newer commit and the rest comes from the cache. When the hub cannot be
// reached, a complete cached snapshot is used with a notice; failing that
// the error (wrapping ErrHubUnreachable) says the hub is unreachable and to
// pass a local folder. An unknown, private or gated repository is an error
// naming the repository (wrapping ErrNoModel when it does not exist or is
// not visible) and saying to set HF_TOKEN.
func ResolveModel(ctx context.Context, nameOrPath string, opts HubOptions) (string, error) {
	if nameOrPath == "" {
		return "", fmt.Errorf("%w: empty model name", ErrNoModel)
	}
	if st, err := os.Stat(nameOrPath); err == nil {
		if !st.IsDir() {
			return "", fmt.Errorf("model folder %s is not a directory", nameOrPath)
		}
		return nameOrPath, nil
	}
	repo, rev, err := ParseModelName(nameOrPath)
	if err != nil {
		if looksLikePath(nameOrPath) {
			return "", fmt.Errorf("model folder %s does not exist", nameOrPath)
		}
		return "", err
	}
	if rev == "" {
		rev = opts.Revision
	}
	if rev == "" {
		rev = "main"
	}
	if err := checkRevision(rev); err != nil {
		return "", err
	}
	h := newHub(opts)
	if h.offline {
		return h.cached(repo, rev)
	}
	dir, err := h.fetchSnapshot(ctx, repo, rev)
	if errors.Is(err, ErrHubUnreachable) {
		if cached, cerr := h.cached(repo, rev); cerr == nil {
			fmt.Fprintf(h.progress, "warning: %v\nusing the cached copy of %s at %s\n", err, repo, cached)
			return cached, nil
		}
	}
	return dir, err
}

// repoIDPattern is huggingface_hub's validate_repo_id: an optional
// namespace and a name of letters, digits, '-', '_' and '.', at most 96
// characters each, neither starting nor ending with '-' or '.'.
var repoIDPattern = regexp.MustCompile(`^([A-Za-z0-9_]([A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?/)?[A-Za-z0-9_]([A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$`)

// ParseModelName splits a hub model reference "name", "org/name",
// "name@revision" or "org/name@revision" into the repository id and the
// revision ("" when none is given). It rejects what the hub would: more
// than one '/', characters outside letters, digits, '-', '_' and '.', "--"
// or ".." (which would make cache folder names ambiguous), a trailing
// ".git", or an empty revision.
func ParseModelName(s string) (repo, revision string, err error) {
	repo = s
	if i := strings.IndexByte(s, '@'); i >= 0 {
		repo, revision = s[:i], s[i+1:]
		if revision == "" {
			return "", "", fmt.Errorf("%w: %q has an empty revision after '@'", ErrNoModel, s)
		}
	}
	if !repoIDPattern.MatchString(repo) || strings.Contains(repo, "--") || strings.Contains(repo, "..") || strings.HasSuffix(repo, ".git") {
		return "", "", fmt.Errorf("%w: %q is neither a local folder nor a hub model id (\"name\" or \"org/name\", optionally with \"@revision\")", ErrNoModel, s)
	}
	return repo, revision, nil
}

// checkRevision rejects revisions that would escape the cache's refs folder
// (a revision names a file there, as huggingface_hub stores it).
func checkRevision(rev string) error {
	for _, part := range strings.Split(rev, "/") {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, "\\\x00") {
			return fmt.Errorf("%w: invalid revision %q", ErrNoModel, rev)
		}
	}
	return nil
}

// looksLikePath reports whether a name that is not a valid hub id was meant
// as a folder, so the error can say the folder is missing.
func looksLikePath(s string) bool {
	return filepath.IsAbs(s) || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~") ||
		strings.Count(s, "/") > 1 || strings.ContainsRune(s, filepath.Separator) && filepath.Separator != '/'
}

// CacheDir returns the hub cache folder HubOptions{CacheDir: dir} selects,
// resolving the environment as huggingface_hub does.
func CacheDir(dir string) string {
	if dir != "" {
		return dir
	}
	for _, env := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if v := os.Getenv(env); v != "" {
			return v
		}
	}
	if v := os.Getenv("HF_HOME"); v != "" {
		return filepath.Join(v, "hub")
	}
	if v := os.Getenv("XDG_CACHE_HOME"); v != "" {
		return filepath.Join(v, "huggingface", "hub")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

// envTrue is huggingface_hub's reading of boolean environment variables.
func envTrue(name string) bool {
	switch strings.ToUpper(strings.TrimSpace(os.Getenv(name))) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}
