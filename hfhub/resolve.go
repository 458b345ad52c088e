package hfhub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Resolve returns a local model folder for nameOrPath, the way
// transformers' from_pretrained reads its first argument:
//
//   - an existing directory is returned as it is;
//   - otherwise nameOrPath is a hub model id, "name" or "org/name",
//     optionally followed by "@revision" (a branch, tag, commit hash or
//     pull request, refs/pr/N; default Options.Revision, else "main"), and
//     the files subtune needs are fetched into the hub cache, which is
//     laid out as huggingface_hub lays it out, so Python and subtune share
//     downloads (see below). The returned folder is the snapshot,
//     <cache>/models--org--name/snapshots/<commit>.
//
// Fetched files: config.json; model.safetensors, or
// model.safetensors.index.json and every shard it names, or failing both
// the same of pytorch_model.bin (package checkpoint reads either); and
// those of tokenizer.json, tokenizer_config.json, vocab.txt, vocab.json,
// merges.txt and special_tokens_map.json that the repository has.
//
// Each file is requested from {endpoint}/{repo}/resolve/{revision}/{file}
// (HEAD first, for the commit, size and ETag, then GET, following the
// hub's redirect to its CDN). Data streams into blobs/<etag>.incomplete
// and is renamed into place only when complete, after its size and — for
// LFS files, whose ETag is the content's SHA-256 — its hash are checked.
// A download cut short (a dropped connection, or no data for
// Options.IdleTimeout) resumes where it stopped with a Range request, in
// this run or the next. Requests answered 429 or 5xx, or whose connection
// dropped, are retried with backoff, honouring Retry-After. Files larger
// than 10 MB show progress on Options.Progress. Once config.json has fixed
// the commit, the other files are requested at that commit, so one
// snapshot never mixes commits.
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
// content.
//
// # Network and offline use
//
// With Offline (or HF_HUB_OFFLINE=1) nothing is requested: the cached
// snapshot of the revision is used, or the error says it is not cached.
// A revision that is a full commit hash already in the cache is used
// without a request; otherwise one HEAD request (config.json) checks for a
// newer commit and the rest comes from the cache. When the hub cannot be
// reached or answers with any error other than "no such revision" or "no
// such file" — a 429 or 5xx after the retries, a private repository — a
// complete cached snapshot is used with a notice, as huggingface_hub does;
// failing that the error explains (wrapping ErrHubUnreachable when the hub
// was unreachable, ErrNoModel when the model does not exist or is not
// visible, naming the token's source).
func Resolve(ctx context.Context, nameOrPath string, opts Options) (string, error) {
	return resolve(ctx, nameOrPath, opts, files{weights: true})
}

// ResolveTokenizer is Resolve for a tokenizer: it fetches config.json and
// the tokenizer files a repository has, not the weights, as
// AutoTokenizer.from_pretrained does.
func ResolveTokenizer(ctx context.Context, nameOrPath string, opts Options) (string, error) {
	return resolve(ctx, nameOrPath, opts, files{})
}

func resolve(ctx context.Context, nameOrPath string, opts Options, need files) (string, error) {
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
	if rev != "" && opts.Revision != "" && rev != opts.Revision {
		return "", fmt.Errorf("%w: %s names revision %q, and the revision option says %q: give one", ErrNoModel, nameOrPath, rev, opts.Revision)
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
	h, err := newHub(opts)
	if err != nil {
		return "", err
	}
	if h.offline {
		return h.cached(repo, rev, need, "offline mode is on (HF_HUB_OFFLINE)")
	}
	dir, err := h.fetchSnapshot(ctx, repo, rev, need)
	var nf notFoundError
	if err == nil || ctx.Err() != nil || errors.As(err, &nf) {
		return dir, err
	}
	cached, cerr := h.cached(repo, rev, need, "the hub could not be used")
	if cerr != nil {
		return "", err
	}
	fmt.Fprintf(h.progress, "warning: %v\nusing the cached copy of %s at %s\n", err, repo, cached)
	return cached, nil
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
