package checkpoint

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

// fakeHub mimics the HuggingFace hub's resolve endpoint closely enough to
// exercise every path of ResolveModel: X-Repo-Commit on every answer, git
// SHA-1 ETags for small files, LFS files redirected (302) to a CDN on
// another host with X-Linked-Etag (SHA-256) and X-Linked-Size, 401
// RepoNotFound for unknown repositories, 401/403 GatedRepo, 404
// RevisionNotFound and EntryNotFound, and relative redirects for renamed
// repositories.
type fakeHub struct {
	t        *testing.T
	hub, cdn *httptest.Server
	repos    map[string]*fakeRepo

	mu       sync.Mutex
	requests []string // "HEAD /org/tiny/resolve/main/config.json"
	cdnGets  []string // file names served by the CDN
	cdnAuth  []string // Authorization headers the CDN received
	hubAuth  []string
	truncate map[string]bool // file names whose CDN body is cut short
	corrupt  map[string]bool // file names whose CDN body has a flipped byte
	status   int             // when set, every hub request gets it
	// resolveCache redirects small files (307) to /api/resolve-cache/,
	// as the hub does, whose answer carries the ETag but no commit.
	resolveCache bool
	stall        chan struct{} // when set, the CDN sends half a file, signals here, then waits for the client to go
	cdnByHash    map[string]fakeBlob
}

type fakeRepo struct {
	refs      map[string]string            // branch or tag → commit
	commits   map[string]map[string][]byte // commit → file → content
	lfs       func(name string) bool
	token     string // gated: the token that may read it
	renamedTo string
}

type fakeBlob struct {
	name string
	data []byte
}

func gitSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func isLFS(name string) bool {
	return strings.HasSuffix(name, ".safetensors") || strings.HasSuffix(name, ".bin")
}

func newFakeHub(t *testing.T) *fakeHub {
	f := &fakeHub{t: t, repos: map[string]*fakeRepo{}, truncate: map[string]bool{}, corrupt: map[string]bool{},
		cdnByHash: map[string]fakeBlob{}}
	f.hub = httptest.NewServer(http.HandlerFunc(f.serveHub))
	f.cdn = httptest.NewServer(http.HandlerFunc(f.serveCDN))
	t.Cleanup(func() {
		f.hub.Close()
		f.cdn.Close()
	})
	return f
}

// addRepo publishes files as one commit; refs name it (the first is the
// branch "main" by convention of the callers).
func (f *fakeHub) addRepo(name, commit string, files map[string][]byte, refs ...string) *fakeRepo {
	r := f.repos[name]
	if r == nil {
		r = &fakeRepo{refs: map[string]string{}, commits: map[string]map[string][]byte{}, lfs: isLFS}
		f.repos[name] = r
	}
	r.commits[commit] = files
	for _, ref := range refs {
		r.refs[ref] = commit
	}
	for n, b := range files {
		if r.lfs(n) {
			f.cdnByHash[sha256Hex(b)] = fakeBlob{name: n, data: b}
		}
	}
	return r
}

func (f *fakeHub) log(r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.EscapedPath())
	f.hubAuth = append(f.hubAuth, r.Header.Get("Authorization"))
}

func (f *fakeHub) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests, f.cdnGets, f.cdnAuth, f.hubAuth = nil, nil, nil, nil
}

func (f *fakeHub) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeHub) serveHub(w http.ResponseWriter, r *http.Request) {
	f.log(r)
	if f.status != 0 {
		http.Error(w, "unavailable", f.status)
		return
	}
	path := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(path, "/api/resolve-cache/models/"); ok {
		f.serveResolveCache(w, r, rest)
		return
	}
	i := strings.Index(path, "/resolve/")
	if i < 0 {
		http.NotFound(w, r)
		return
	}
	repoName := strings.TrimPrefix(path[:i], "/")
	rest := path[i+len("/resolve/"):]
	j := strings.IndexByte(rest, '/')
	if j < 0 {
		http.NotFound(w, r)
		return
	}
	rev, err1 := url.PathUnescape(rest[:j])
	file, err2 := url.PathUnescape(rest[j+1:])
	if err1 != nil || err2 != nil {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	repo := f.repos[repoName]
	if repo == nil {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		w.Header().Set("X-Error-Message", "Repository not found")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if repo.renamedTo != "" {
		http.Redirect(w, r, "/"+repo.renamedTo+"/resolve/"+rest, http.StatusTemporaryRedirect)
		return
	}
	if repo.token != "" {
		switch r.Header.Get("Authorization") {
		case "Bearer " + repo.token:
		case "":
			w.Header().Set("X-Error-Code", "GatedRepo")
			w.WriteHeader(http.StatusUnauthorized)
			return
		default:
			w.Header().Set("X-Error-Code", "GatedRepo")
			w.WriteHeader(http.StatusForbidden)
			return
		}
	}
	commit, ok := repo.refs[rev]
	if !ok {
		if _, isCommit := repo.commits[rev]; !isCommit {
			w.Header().Set("X-Error-Code", "RevisionNotFound")
			w.WriteHeader(http.StatusNotFound)
			return
		}
		commit = rev
	}
	w.Header().Set("X-Repo-Commit", commit)
	data, ok := repo.commits[commit][file]
	if !ok {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if repo.lfs(file) {
		sum := sha256Hex(data)
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(data)))
		w.Header().Set("ETag", `"`+gitSHA1([]byte("pointer "+sum))+`"`)
		w.Header().Set("Location", f.cdn.URL+"/blobs/"+sum)
		w.WriteHeader(http.StatusFound)
		return
	}
	if f.resolveCache {
		u := "/api/resolve-cache/models/" + repoName + "/" + commit + "/" + url.PathEscape(file) + "?etag=" + gitSHA1(data)
		http.Redirect(w, r, u, http.StatusTemporaryRedirect)
		return
	}
	w.Header().Set("ETag", `"`+gitSHA1(data)+`"`)
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(data)
	}
}

// serveResolveCache serves /api/resolve-cache/models/{repo}/{commit}/{file}.
func (f *fakeHub) serveResolveCache(w http.ResponseWriter, r *http.Request, rest string) {
	parts := strings.Split(rest, "/")
	if len(parts) < 3 {
		http.NotFound(w, r)
		return
	}
	file, _ := url.PathUnescape(parts[len(parts)-1])
	commit := parts[len(parts)-2]
	repo := f.repos[strings.Join(parts[:len(parts)-2], "/")]
	if repo == nil {
		http.NotFound(w, r)
		return
	}
	data, ok := repo.commits[commit][file]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", `"`+gitSHA1(data)+`"`)
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(data)
	}
}

func (f *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	blob, ok := f.cdnByHash[strings.TrimPrefix(r.URL.Path, "/blobs/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	f.cdnGets = append(f.cdnGets, blob.name)
	f.cdnAuth = append(f.cdnAuth, r.Header.Get("Authorization"))
	truncate, corrupt, stall := f.truncate[blob.name], f.corrupt[blob.name], f.stall
	f.mu.Unlock()
	data := blob.data
	if corrupt {
		data = slices.Clone(data)
		data[len(data)/2] ^= 1
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(http.StatusOK)
	switch {
	case stall != nil:
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		close(stall)
		<-r.Context().Done()
	case truncate:
		w.Write(data[:len(data)/2]) // the server closes the connection short of Content-Length
	default:
		w.Write(data)
	}
}

const (
	commitA = "0123456789abcdef0123456789abcdef01234567"
	commitB = "89abcdef0123456789abcdef0123456789abcdef"
)

// tinyFiles saves a tiny random BERT classifier and returns its files.
func tinyFiles(t *testing.T) (map[string][]byte, *model.Model) {
	t.Helper()
	dir := t.TempDir()
	m := tinyModel(t, model.SequenceClassification, 7)
	must(t, Save(dir, m, ""))
	files := map[string][]byte{}
	for _, n := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		must(t, err)
		files[n] = b
	}
	files["vocab.txt"] = []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n")
	files["tokenizer_config.json"] = []byte(`{"do_lower_case": true}` + "\n")
	return files, m
}

// hubTestEnv clears the environment variables ResolveModel reads.
func hubTestEnv(t *testing.T) {
	for _, v := range []string{"HF_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		t.Setenv(v, "")
	}
}

func (f *fakeHub) opts(t *testing.T) HubOptions {
	return HubOptions{Endpoint: f.hub.URL, CacheDir: t.TempDir(), Progress: io.Discard}
}

func sameData(t *testing.T, got, want *model.Model) {
	t.Helper()
	if len(got.Data) != len(want.Data) {
		t.Fatalf("model has %d parameters, want %d", len(got.Data), len(want.Data))
	}
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("parameter %d = %v, want %v", i, got.Data[i], want.Data[i])
		}
	}
}

func TestHubDownloadAndCache(t *testing.T) {
	hubTestEnv(t)
	f := newFakeHub(t)
	files, src := tinyFiles(t)
	f.addRepo("org/tiny", commitA, files, "main", "v1")
	opts := f.opts(t)
	ctx := context.Background()

	dir, err := ResolveModel(ctx, "org/tiny", opts)
	must(t, err)
	repoDir := filepath.Join(opts.CacheDir, "models--org--tiny")
	if want := filepath.Join(repoDir, "snapshots", commitA); dir != want {
		t.Fatalf("dir = %s, want %s", dir, want)
	}
	// Layout as huggingface_hub writes it.
	for name, data := range files {
		p := filepath.Join(dir, name)
		target, err := os.Readlink(p)
		if err != nil {
			t.Fatalf("%s is not a symlink: %v", name, err)
		}
		etag := gitSHA1(data)
		if isLFS(name) {
			etag = sha256Hex(data)
		}
		if want := "../../blobs/" + etag; target != filepath.FromSlash(want) {
			t.Errorf("%s -> %s, want %s", name, target, want)
		}
		got, err := os.ReadFile(p)
		must(t, err)
		if !bytes.Equal(got, data) {
			t.Errorf("%s: content differs", name)
		}
	}
	ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "main"))
	must(t, err)
	if string(ref) != commitA {
		t.Errorf("refs/main = %q, want %q", ref, commitA)
	}
	for _, missing := range []string{"tokenizer.json", "vocab.json", "merges.txt", "special_tokens_map.json"} {
		if _, err := os.Stat(filepath.Join(repoDir, ".no_exist", commitA, missing)); err != nil {
			t.Errorf(".no_exist marker for %s: %v", missing, err)
		}
		if _, err := os.Lstat(filepath.Join(dir, missing)); err == nil {
			t.Errorf("%s should not be in the snapshot", missing)
		}
	}
	assertNoPartial(t, repoDir)
	f.mu.Lock()
	if !slices.Equal(f.cdnGets, []string{"model.safetensors"}) {
		t.Errorf("CDN served %v, want only model.safetensors", f.cdnGets)
	}
	f.mu.Unlock()

	m, _, err := Load(dir, model.SequenceClassification, Options{})
	must(t, err)
	sameData(t, m, src)

	// A second run asks only for config.json's commit.
	f.reset()
	dir2, err := ResolveModel(ctx, "org/tiny", opts)
	must(t, err)
	if dir2 != dir || f.requestCount() != 1 || f.requests[0] != "HEAD /org/tiny/resolve/main/config.json" {
		t.Errorf("cached run: dir %s, requests %v; want %s after one HEAD of config.json", dir2, f.requests, dir)
	}

	// A commit already cached needs no request at all, nor does offline mode.
	f.reset()
	for _, run := range []struct {
		name string
		o    HubOptions
		env  string
	}{
		{"org/tiny@" + commitA, opts, ""},
		{"org/tiny", HubOptions{CacheDir: opts.CacheDir, Endpoint: opts.Endpoint, Offline: true}, ""},
		{"org/tiny", opts, "1"},
		{"org/tiny@" + commitA, opts, "1"},
	} {
		t.Setenv("HF_HUB_OFFLINE", run.env)
		got, err := ResolveModel(ctx, run.name, run.o)
		if err != nil || got != dir {
			t.Errorf("%s (offline=%v, HF_HUB_OFFLINE=%q): %s, %v; want %s", run.name, run.o.Offline, run.env, got, err, dir)
		}
	}
	t.Setenv("HF_HUB_OFFLINE", "")
	if f.requestCount() != 0 {
		t.Errorf("cached commit and offline runs made requests: %v", f.requests)
	}

	// A tag resolves to the same snapshot and gets its own ref.
	got, err := ResolveModel(ctx, "org/tiny@v1", opts)
	must(t, err)
	if got != dir {
		t.Errorf("org/tiny@v1: %s, want %s", got, dir)
	}
	if ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "v1")); err != nil || string(ref) != commitA {
		t.Errorf("refs/v1 = %q, %v", ref, err)
	}

	// A new commit on main: only the files that changed are downloaded.
	files2 := maps2(files)
	files2["vocab.txt"] = []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nworld\n")
	f.addRepo("org/tiny", commitB, files2, "main")
	f.reset()
	dirB, err := ResolveModel(ctx, "org/tiny", opts)
	must(t, err)
	if dirB != filepath.Join(repoDir, "snapshots", commitB) {
		t.Errorf("new commit: dir %s", dirB)
	}
	f.mu.Lock()
	if len(f.cdnGets) != 0 {
		t.Errorf("unchanged model.safetensors downloaded again: %v", f.cdnGets)
	}
	gets := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r, "GET ") {
			gets++
			if !strings.HasSuffix(r, "/vocab.txt") || !strings.Contains(r, commitB) {
				t.Errorf("unexpected download %s", r)
			}
		}
	}
	f.mu.Unlock()
	if gets != 1 {
		t.Errorf("%d downloads for the new commit, want 1 (vocab.txt)", gets)
	}
	if b, _ := os.ReadFile(filepath.Join(dirB, "vocab.txt")); !bytes.Equal(b, files2["vocab.txt"]) {
		t.Errorf("new commit's vocab.txt not in its snapshot")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "vocab.txt")); !bytes.Equal(b, files["vocab.txt"]) {
		t.Errorf("old snapshot changed")
	}
}

func maps2(m map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// assertNoPartial checks that no temporary file is left in the cache.
func assertNoPartial(t *testing.T, root string) {
	t.Helper()
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && (strings.HasSuffix(p, ".incomplete") || strings.Contains(filepath.Base(p), ".tmp-")) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func TestHubSharded(t *testing.T) {
	hubTestEnv(t)
	f := newFakeHub(t)
	files, src := tinyFiles(t)
	shardDir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(shardDir, "model.safetensors"), files["model.safetensors"], 0o644))
	writeShards(t, shardDir)
	sharded := map[string][]byte{"config.json": files["config.json"]}
	for _, n := range []string{"model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"} {
		b, err := os.ReadFile(filepath.Join(shardDir, n))
		must(t, err)
		sharded[n] = b
	}
	f.addRepo("tiny-sharded", commitA, sharded, "main")
	dir, err := ResolveModel(context.Background(), "tiny-sharded", f.opts(t))
	must(t, err)
	if !strings.Contains(dir, "models--tiny-sharded") {
		t.Errorf("dir %s", dir)
	}
	m, _, err := Load(dir, model.SequenceClassification, Options{})
	must(t, err)
	sameData(t, m, src)
}

func TestHubPyTorchOnly(t *testing.T) {
	hubTestEnv(t)
	f := newFakeHub(t)
	files, _ := tinyFiles(t)
	f.addRepo("org/pt", commitA, map[string][]byte{"config.json": files["config.json"], "pytorch_model.bin": []byte("PK\x03\x04 not really")}, "main")
	_, err := ResolveModel(context.Background(), "org/pt", f.opts(t))
	if err == nil || !strings.Contains(err.Error(), "pytorch_model.bin") || !strings.Contains(err.Error(), "save_file(") ||
		!strings.Contains(err.Error(), "org/pt") {
		t.Fatalf("err = %v, want the conversion hint", err)
	}
	if len(f.cdnGets) != 0 {
		t.Errorf("pytorch_model.bin was downloaded: %v", f.cdnGets)
	}

	f.addRepo("org/empty", commitA, map[string][]byte{"config.json": files["config.json"]}, "main")
	_, err = ResolveModel(context.Background(), "org/empty", f.opts(t))
	if err == nil || !strings.Contains(err.Error(), "no model.safetensors") {
		t.Fatalf("err = %v", err)
	}
}

func TestHubErrors(t *testing.T) {
	hubTestEnv(t)
	f := newFakeHub(t)
	files, _ := tinyFiles(t)
	f.addRepo("org/tiny", commitA, files, "main")
	f.addRepo("org/nomodel", commitA, map[string][]byte{"README.md": []byte("hi")}, "main")
	ctx := context.Background()

	_, err := ResolveModel(ctx, "org/nope", f.opts(t))
	t.Log(err)
	if !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), "org/nope") || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Errorf("unknown repo: %v", err)
	}
	_, err = ResolveModel(ctx, "org/tiny@nope", f.opts(t))
	if !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), `revision "nope"`) {
		t.Errorf("unknown revision: %v", err)
	}
	_, err = ResolveModel(ctx, "org/nomodel", f.opts(t))
	if !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), "no config.json") {
		t.Errorf("repo without config.json: %v", err)
	}
	f.status = http.StatusServiceUnavailable
	_, err = ResolveModel(ctx, "org/tiny", f.opts(t))
	if !errors.Is(err, ErrHubUnreachable) || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "local model folder") {
		t.Errorf("503: %v", err)
	}
	f.status = http.StatusTeapot
	_, err = ResolveModel(ctx, "org/tiny", f.opts(t))
	if err == nil || !strings.Contains(err.Error(), "418") {
		t.Errorf("418: %v", err)
	}
}

func TestHubGated(t *testing.T) {
	hubTestEnv(t)
	f := newFakeHub(t)
	files, src := tinyFiles(t)
	f.addRepo("org/gated", commitA, files, "main").token = "hf_secret"
	ctx := context.Background()
	opts := f.opts(t)

	_, err := ResolveModel(ctx, "org/gated", opts)
	if err == nil || !strings.Contains(err.Error(), "gated") || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Fatalf("no token: %v", err)
	}
	t.Setenv("HF_TOKEN", "hf_wrong")
	_, err = ResolveModel(ctx, "org/gated", opts)
	if err == nil || !strings.Contains(err.Error(), "granted access") {
		t.Fatalf("wrong token: %v", err)
	}
	t.Setenv("HF_TOKEN", "hf_secret")
	f.reset()
	dir, err := ResolveModel(ctx, "org/gated", opts)
	must(t, err)
	m, _, err := Load(dir, model.SequenceClassification, Options{})
	must(t, err)
	sameData(t, m, src)
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, a := range f.hubAuth {
		if a != "Bearer hf_secret" {
			t.Errorf("%s sent Authorization %q", f.requests[i], a)
		}
	}
	if len(f.cdnAuth) == 0 {
		t.Fatal("nothing downloaded from the CDN")
	}
	for _, a := range f.cdnAuth {
		if a != "" {
			t.Errorf("token leaked to the CDN: %q", a)
		}
	}
}

func TestHubRenamedRepo(t *testing.T) {
	hubTestEnv(t)
	f := newFakeHub(t)
	files, _ := tinyFiles(t)
	f.addRepo("org/new-name", commitA, files, "main")
	f.repos["org/old-name"] = &fakeRepo{renamedTo: "org/new-name"}
	opts := f.opts(t)
	dir, err := ResolveModel(context.Background(), "org/old-name", opts)
	must(t, err)
	if want := filepath.Join(opts.CacheDir, "models--org--old-name", "snapshots", commitA); dir != want {
		t.Errorf("dir %s, want %s", dir, want)
	}
	_, _, err = Load(dir, model.SequenceClassification, Options{})
	must(t, err)
}

func TestHubTruncatedAndCorrupt(t *testing.T) {
	hubTestEnv(t)
	f := newFakeHub(t)
	files, _ := tinyFiles(t)
	f.addRepo("org/tiny", commitA, files, "main")
	opts := f.opts(t)
	repoDir := filepath.Join(opts.CacheDir, "models--org--tiny")
	ctx := context.Background()

	f.truncate["model.safetensors"] = true
	_, err := ResolveModel(ctx, "org/tiny", opts)
	if err == nil || !strings.Contains(err.Error(), "model.safetensors") || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("truncated body: %v", err)
	}
	assertNoPartial(t, repoDir)
	if _, err := os.Stat(filepath.Join(repoDir, "blobs", sha256Hex(files["model.safetensors"]))); err == nil {
		t.Error("a truncated blob was kept")
	}
	if _, err := os.Lstat(filepath.Join(repoDir, "snapshots", commitA, "model.safetensors")); err == nil {
		t.Error("the snapshot links a truncated file")
	}

	f.truncate["model.safetensors"] = false
	f.corrupt["model.safetensors"] = true
	_, err = ResolveModel(ctx, "org/tiny", opts)
	if err == nil || !strings.Contains(err.Error(), "SHA-256") || !strings.Contains(err.Error(), "model.safetensors") {
		t.Fatalf("corrupt body: %v", err)
	}
	assertNoPartial(t, repoDir)

	// Once the server behaves, the next run completes the snapshot.
	f.corrupt["model.safetensors"] = false
	dir, err := ResolveModel(ctx, "org/tiny", opts)
	must(t, err)
	_, _, err = Load(dir, model.SequenceClassification, Options{})
	must(t, err)
}

func TestHubCancel(t *testing.T) {
	hubTestEnv(t)
	f := newFakeHub(t)
	files, _ := tinyFiles(t)
	f.addRepo("org/tiny", commitA, files, "main")
	f.stall = make(chan struct{})
	opts := f.opts(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-f.stall
		cancel()
	}()
	_, err := ResolveModel(ctx, "org/tiny", opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	assertNoPartial(t, opts.CacheDir)
}

func TestHubUnreachable(t *testing.T) {
	hubTestEnv(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	endpoint := dead.URL
	dead.Close() // nothing listens there any more

	opts := HubOptions{Endpoint: endpoint, CacheDir: t.TempDir(), Progress: io.Discard}
	_, err := ResolveModel(context.Background(), "bert-base-uncased", opts)
	if !errors.Is(err, ErrHubUnreachable) {
		t.Fatalf("err = %v, want ErrHubUnreachable", err)
	}
	for _, want := range []string{"cannot reach the HuggingFace hub", endpoint, "local model folder", "HF_HUB_OFFLINE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}

	// With the model cached, a run without network uses the cache and says so.
	f := newFakeHub(t)
	files, _ := tinyFiles(t)
	f.addRepo("org/tiny", commitA, files, "main")
	opts.Endpoint = f.hub.URL
	dir, err := ResolveModel(context.Background(), "org/tiny", opts)
	must(t, err)
	var notice bytes.Buffer
	opts.Endpoint, opts.Progress = endpoint, &notice
	got, err := ResolveModel(context.Background(), "org/tiny", opts)
	if err != nil || got != dir {
		t.Fatalf("fallback to cache: %s, %v", got, err)
	}
	if !strings.Contains(notice.String(), "using the cached copy") {
		t.Errorf("no notice of the fallback: %q", notice.String())
	}
}

func TestHubProgressAndEndpointEnv(t *testing.T) {
	hubTestEnv(t)
	f := newFakeHub(t)
	files, _ := tinyFiles(t)
	f.addRepo("org/tiny", commitA, files, "main")
	t.Setenv("HF_ENDPOINT", f.hub.URL+"/")
	old := progressMin
	progressMin = 1
	defer func() { progressMin = old }()
	var out bytes.Buffer
	_, err := ResolveModel(context.Background(), "org/tiny", HubOptions{CacheDir: t.TempDir(), Progress: &out})
	must(t, err)
	if !strings.Contains(out.String(), "downloading org/tiny model.safetensors") || !strings.Contains(out.String(), "100%") {
		t.Errorf("progress output: %q", out.String())
	}
}

func TestHubBadIndex(t *testing.T) {
	hubTestEnv(t)
	f := newFakeHub(t)
	files, _ := tinyFiles(t)
	index := map[string]any{"weight_map": map[string]string{"bert.embeddings.word_embeddings.weight": "../../etc/passwd"}}
	b, _ := json.Marshal(index)
	f.addRepo("org/evil", commitA, map[string][]byte{"config.json": files["config.json"], "model.safetensors.index.json": b}, "main")
	_, err := ResolveModel(context.Background(), "org/evil", f.opts(t))
	if err == nil || !strings.Contains(err.Error(), "invalid shard name") {
		t.Fatalf("err = %v", err)
	}
	b, _ = json.Marshal(map[string]any{"weight_map": map[string]string{"x": "model-00009.safetensors"}})
	f.addRepo("org/missing-shard", commitA, map[string][]byte{"config.json": files["config.json"], "model.safetensors.index.json": b}, "main")
	_, err = ResolveModel(context.Background(), "org/missing-shard", f.opts(t))
	if err == nil || !strings.Contains(err.Error(), "model-00009.safetensors") {
		t.Fatalf("err = %v", err)
	}
}

// The cache written here is what safetensors and the loader read through
// the symlinks; make sure the blobs are plain safetensors.
func TestHubBlobIsSafetensors(t *testing.T) {
	hubTestEnv(t)
	f := newFakeHub(t)
	files, _ := tinyFiles(t)
	f.addRepo("org/tiny", commitA, files, "main")
	opts := f.opts(t)
	_, err := ResolveModel(context.Background(), "org/tiny", opts)
	must(t, err)
	st, err := safetensors.Open(filepath.Join(opts.CacheDir, "models--org--tiny", "blobs", sha256Hex(files["model.safetensors"])))
	must(t, err)
	st.Close()
}

// The hub answers small files with a redirect to /api/resolve-cache/ at the
// commit; the commit header is on the first answer only.
func TestHubResolveCacheRedirect(t *testing.T) {
	hubTestEnv(t)
	f := newFakeHub(t)
	f.resolveCache = true
	files, src := tinyFiles(t)
	f.addRepo("org/tiny", commitA, files, "main")
	opts := f.opts(t)
	dir, err := ResolveModel(context.Background(), "org/tiny", opts)
	must(t, err)
	if want := filepath.Join(opts.CacheDir, "models--org--tiny", "snapshots", commitA); dir != want {
		t.Fatalf("dir %s, want %s", dir, want)
	}
	target, err := os.Readlink(filepath.Join(dir, "config.json"))
	must(t, err)
	if want := filepath.FromSlash("../../blobs/" + gitSHA1(files["config.json"])); target != want {
		t.Errorf("config.json -> %s, want %s", target, want)
	}
	m, _, err := Load(dir, model.SequenceClassification, Options{})
	must(t, err)
	sameData(t, m, src)
	f.mu.Lock()
	defer f.mu.Unlock()
	sawCache := false
	for _, r := range f.requests {
		sawCache = sawCache || strings.HasPrefix(r, "GET /api/resolve-cache/")
	}
	if !sawCache {
		t.Errorf("no download went through resolve-cache: %v", f.requests)
	}
}
