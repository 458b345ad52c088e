package hfhub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/internal/hubtest"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

func TestHubDownloadAndCache(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	files, src := tinyFiles(t)
	f.AddRepo("org/tiny", commitA, files, "main", "v1")
	opts := testOpts(t, f)
	ctx := context.Background()

	dir, err := Resolve(ctx, "org/tiny", opts)
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
		etag := hubtest.GitSHA1(data)
		if hubtest.IsLFS(name) {
			etag = hubtest.SHA256(data)
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
	if gets := cdnGets(f); len(gets) != 1 || gets[0] != "/blobs/"+hubtest.SHA256(files["model.safetensors"]) {
		t.Errorf("CDN served %v, want only model.safetensors", gets)
	}

	m, _, err := checkpoint.Load(dir, model.SequenceClassification, checkpoint.Options{})
	must(t, err)
	sameData(t, m, src)

	// A second run asks only for config.json's commit.
	f.Reset()
	dir2, err := Resolve(ctx, "org/tiny", opts)
	must(t, err)
	if reqs := f.Requests(); dir2 != dir || len(reqs) != 1 || reqs[0].String() != "HEAD /org/tiny/resolve/main/config.json" {
		t.Errorf("cached run: dir %s, requests %v; want %s after one HEAD of config.json", dir2, reqs, dir)
	}

	// A commit already cached needs no request at all, nor does offline mode.
	f.Reset()
	for _, run := range []struct {
		name string
		o    Options
		env  string
	}{
		{"org/tiny@" + commitA, opts, ""},
		{"org/tiny", Options{CacheDir: opts.CacheDir, Endpoint: opts.Endpoint, Offline: true}, ""},
		{"org/tiny", opts, "1"},
		{"org/tiny@" + commitA, opts, "1"},
	} {
		t.Setenv("HF_HUB_OFFLINE", run.env)
		got, err := Resolve(ctx, run.name, run.o)
		if err != nil || got != dir {
			t.Errorf("%s (offline=%v, HF_HUB_OFFLINE=%q): %s, %v; want %s", run.name, run.o.Offline, run.env, got, err, dir)
		}
	}
	t.Setenv("HF_HUB_OFFLINE", "")
	if len(f.Requests()) != 0 {
		t.Errorf("cached commit and offline runs made requests: %v", f.Requests())
	}

	// A tag resolves to the same snapshot and gets its own ref.
	got, err := Resolve(ctx, "org/tiny@v1", opts)
	must(t, err)
	if got != dir {
		t.Errorf("org/tiny@v1: %s, want %s", got, dir)
	}
	if ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "v1")); err != nil || string(ref) != commitA {
		t.Errorf("refs/v1 = %q, %v", ref, err)
	}

	// A new commit on main: only the files that changed are downloaded.
	files2 := maps.Clone(files)
	files2["vocab.txt"] = []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nworld\n")
	f.AddRepo("org/tiny", commitB, files2, "main")
	f.Reset()
	dirB, err := Resolve(ctx, "org/tiny", opts)
	must(t, err)
	if dirB != filepath.Join(repoDir, "snapshots", commitB) {
		t.Errorf("new commit: dir %s", dirB)
	}
	if gets := cdnGets(f); len(gets) != 0 {
		t.Errorf("unchanged model.safetensors downloaded again: %v", gets)
	}
	gets := 0
	for _, r := range f.Requests() {
		if r.Method == "GET" {
			gets++
			if !strings.HasSuffix(r.Path, "/vocab.txt") || !strings.Contains(r.Path, commitB) {
				t.Errorf("unexpected download %s", r)
			}
		}
	}
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

func TestHubSharded(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	files, src := tinyFiles(t)
	sharded := shard(t, files["model.safetensors"])
	sharded["config.json"] = files["config.json"]
	f.AddRepo("tiny-sharded", commitA, sharded, "main")
	dir, err := Resolve(context.Background(), "tiny-sharded", testOpts(t, f))
	must(t, err)
	if !strings.Contains(dir, "models--tiny-sharded") {
		t.Errorf("dir %s", dir)
	}
	m, _, err := checkpoint.Load(dir, model.SequenceClassification, checkpoint.Options{})
	must(t, err)
	sameData(t, m, src)
}

// A repository with PyTorch weights only is fetched as it is (package
// checkpoint reads .bin files); one with neither format points to the
// conversion bot's pull request.
func TestHubPyTorchOnly(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	for _, fixture := range []string{"zip", "sharded"} {
		local := filepath.Join("..", "torchbin", "testdata", fixture)
		files := hubtest.ReadDir(t, local)
		f.AddRepo("org/pt-"+fixture, commitA, files, "main")
		dir, err := Resolve(context.Background(), "org/pt-"+fixture, testOpts(t, f))
		must(t, err)
		got, _, err := checkpoint.Load(dir, model.SequenceClassification, checkpoint.Options{})
		must(t, err)
		want, _, err := checkpoint.Load(local, model.SequenceClassification, checkpoint.Options{})
		must(t, err)
		sameData(t, got, want)
	}

	files, _ := tinyFiles(t)
	f.AddRepo("org/tf", commitA, map[string][]byte{"config.json": files["config.json"], "tf_model.h5": []byte("HDF")}, "main")
	_, err := Resolve(context.Background(), "org/tf", testOpts(t, f))
	if !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), "no model.safetensors or pytorch_model.bin") ||
		!strings.Contains(err.Error(), "org/tf@refs/pr/N") {
		t.Fatalf("err = %v, want the hint to the conversion bot's pull request", err)
	}
}

func TestHubErrors(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	files, _ := tinyFiles(t)
	f.AddRepo("org/tiny", commitA, files, "main")
	f.AddRepo("org/nomodel", commitA, map[string][]byte{"README.md": []byte("hi")}, "main")
	ctx := context.Background()

	_, err := Resolve(ctx, "org/nope", testOpts(t, f))
	t.Log(err)
	if !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), "org/nope") || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Errorf("unknown repo: %v", err)
	}
	_, err = Resolve(ctx, "org/tiny@nope", testOpts(t, f))
	if !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), `revision "nope"`) {
		t.Errorf("unknown revision: %v", err)
	}
	_, err = Resolve(ctx, "org/nomodel", testOpts(t, f))
	if !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), "no config.json") {
		t.Errorf("repo without config.json: %v", err)
	}
	f.Fail(6, http.StatusServiceUnavailable, "") // the request and its 5 retries
	_, err = Resolve(ctx, "org/tiny", testOpts(t, f))
	if !errors.Is(err, ErrHubUnreachable) || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "local model folder") {
		t.Errorf("503: %v", err)
	}
	f = hubtest.New(t)
	f.AddRepo("org/tiny", commitA, files, "main")
	f.Fail(1, http.StatusTeapot, "")
	_, err = Resolve(ctx, "org/tiny", testOpts(t, f))
	if err == nil || !strings.Contains(err.Error(), "418") {
		t.Errorf("418: %v", err)
	}
}

func TestHubGated(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	files, src := tinyFiles(t)
	f.AddRepo("org/gated", commitA, files, "main").Token = "hf_secret"
	ctx := context.Background()
	opts := testOpts(t, f)

	_, err := Resolve(ctx, "org/gated", opts)
	if err == nil || !strings.Contains(err.Error(), "gated") || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Fatalf("no token: %v", err)
	}
	t.Setenv("HF_TOKEN", "hf_wrong")
	_, err = Resolve(ctx, "org/gated", opts)
	if err == nil || !strings.Contains(err.Error(), "granted access") {
		t.Fatalf("wrong token: %v", err)
	}
	t.Setenv("HF_TOKEN", "hf_secret")
	f.Reset()
	dir, err := Resolve(ctx, "org/gated", opts)
	must(t, err)
	m, _, err := checkpoint.Load(dir, model.SequenceClassification, checkpoint.Options{})
	must(t, err)
	sameData(t, m, src)
	cdn := 0
	for _, r := range f.Requests() {
		switch {
		case r.CDN && r.Authorization != "":
			t.Errorf("token leaked to the CDN: %q", r.Authorization)
		case !r.CDN && r.Authorization != "Bearer hf_secret":
			t.Errorf("%s sent Authorization %q", r, r.Authorization)
		}
		if r.CDN {
			cdn++
		}
	}
	if cdn == 0 {
		t.Fatal("nothing downloaded from the CDN")
	}
}

func TestHubRenamedRepo(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	files, _ := tinyFiles(t)
	f.AddRepo("org/new-name", commitA, files, "main")
	f.AddRepo("org/old-name", commitA, nil).RenamedTo = "org/new-name"
	opts := testOpts(t, f)
	dir, err := Resolve(context.Background(), "org/old-name", opts)
	must(t, err)
	if want := filepath.Join(opts.CacheDir, "models--org--old-name", "snapshots", commitA); dir != want {
		t.Errorf("dir %s, want %s", dir, want)
	}
	_, _, err = checkpoint.Load(dir, model.SequenceClassification, checkpoint.Options{})
	must(t, err)
}

// A download cut short on every attempt fails, keeping its bytes for the
// next run, which resumes them; a corrupt one keeps nothing.
func TestHubTruncatedAndCorrupt(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	files, _ := tinyFiles(t)
	f.AddRepo("org/tiny", commitA, files, "main")
	opts := testOpts(t, f)
	opts.Retries = 2
	repoDir := filepath.Join(opts.CacheDir, "models--org--tiny")
	weights := files["model.safetensors"]
	ctx := context.Background()

	f.Cut("model.safetensors", 3)
	_, err := Resolve(ctx, "org/tiny", opts)
	if err == nil || !strings.Contains(err.Error(), "model.safetensors") || !strings.Contains(err.Error(), "next run resumes") {
		t.Fatalf("truncated body: %v", err)
	}
	partial := filepath.Join(repoDir, "blobs", hubtest.SHA256(weights)+".incomplete")
	if st, err := os.Stat(partial); err != nil || st.Size() == 0 || st.Size() >= int64(len(weights)) {
		t.Fatalf("partial download: %v, %v", st, err)
	}
	if _, err := os.Lstat(filepath.Join(repoDir, "snapshots", commitA, "model.safetensors")); err == nil {
		t.Error("the snapshot links a truncated file")
	}
	if _, err := os.Stat(filepath.Join(repoDir, "refs", "main")); err == nil {
		t.Error("refs/main written for an incomplete snapshot")
	}

	f.Reset()
	f.Corrupt("model.safetensors", 1)
	_, err = Resolve(ctx, "org/tiny", opts)
	if err == nil || !strings.Contains(err.Error(), "SHA-256") || !strings.Contains(err.Error(), "model.safetensors") {
		t.Fatalf("corrupt body: %v", err)
	}
	if rs := rangesAsked(f); len(rs) != 1 || rs[0] == "" {
		t.Errorf("the second run asked for %q, want one Range request resuming the partial file", rs)
	}
	assertNoPartial(t, repoDir)

	// Once the server behaves, the next run completes the snapshot.
	dir, err := Resolve(ctx, "org/tiny", opts)
	must(t, err)
	_, _, err = checkpoint.Load(dir, model.SequenceClassification, checkpoint.Options{})
	must(t, err)
}

// rangesAsked lists the Range header of each CDN download.
func rangesAsked(f *hubtest.Server) []string {
	var out []string
	for _, r := range f.Requests() {
		if r.CDN {
			out = append(out, r.Range)
		}
	}
	return out
}

func TestHubCancel(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	files, _ := tinyFiles(t)
	f.AddRepo("org/tiny", commitA, files, "main")
	f.Stall("model.safetensors", 1)
	opts := testOpts(t, f)
	opts.IdleTimeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-f.Stalled()
		cancel()
	}()
	_, err := Resolve(ctx, "org/tiny", opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestHubUnreachable(t *testing.T) {
	hubTestEnv(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	endpoint := dead.URL
	dead.Close() // nothing listens there any more

	opts := Options{Endpoint: endpoint, CacheDir: t.TempDir(), Progress: testLog{t}}
	_, err := Resolve(context.Background(), "bert-base-uncased", opts)
	if !errors.Is(err, ErrHubUnreachable) {
		t.Fatalf("err = %v, want ErrHubUnreachable", err)
	}
	for _, want := range []string{"cannot reach the HuggingFace hub", endpoint, "local model folder", "HF_HUB_OFFLINE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}

	// With the model cached, a run without network uses the cache and says so.
	f := hubtest.New(t)
	files, _ := tinyFiles(t)
	f.AddRepo("org/tiny", commitA, files, "main")
	opts.Endpoint = f.Hub.URL
	dir, err := Resolve(context.Background(), "org/tiny", opts)
	must(t, err)
	var notice bytes.Buffer
	opts.Endpoint, opts.Progress = endpoint, &notice
	got, err := Resolve(context.Background(), "org/tiny", opts)
	if err != nil || got != dir {
		t.Fatalf("fallback to cache: %s, %v", got, err)
	}
	if !strings.Contains(notice.String(), "using the cached copy") {
		t.Errorf("no notice of the fallback: %q", notice.String())
	}
}

func TestHubProgressAndEndpointEnv(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	files, _ := tinyFiles(t)
	f.AddRepo("org/tiny", commitA, files, "main")
	t.Setenv("HF_ENDPOINT", f.Hub.URL+"/")
	old := progressMin
	progressMin = 1
	defer func() { progressMin = old }()
	var out bytes.Buffer
	_, err := Resolve(context.Background(), "org/tiny", Options{CacheDir: t.TempDir(), Progress: &out})
	must(t, err)
	if !strings.Contains(out.String(), "downloading org/tiny model.safetensors") || !strings.Contains(out.String(), "100%") {
		t.Errorf("progress output: %q", out.String())
	}
}

func TestHubBadIndex(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	files, _ := tinyFiles(t)
	index := map[string]any{"weight_map": map[string]string{"bert.embeddings.word_embeddings.weight": "../../etc/passwd"}}
	b, _ := json.Marshal(index)
	f.AddRepo("org/evil", commitA, map[string][]byte{"config.json": files["config.json"], "model.safetensors.index.json": b}, "main")
	_, err := Resolve(context.Background(), "org/evil", testOpts(t, f))
	if err == nil || !strings.Contains(err.Error(), "invalid shard name") {
		t.Fatalf("err = %v", err)
	}
	b, _ = json.Marshal(map[string]any{"weight_map": map[string]string{"x": "model-00009.safetensors"}})
	f.AddRepo("org/missing-shard", commitA, map[string][]byte{"config.json": files["config.json"], "model.safetensors.index.json": b}, "main")
	_, err = Resolve(context.Background(), "org/missing-shard", testOpts(t, f))
	if err == nil || !strings.Contains(err.Error(), "model-00009.safetensors") {
		t.Fatalf("err = %v", err)
	}
}

// The cache written here is what safetensors and the loader read through
// the symlinks; make sure the blobs are plain safetensors.
func TestHubBlobIsSafetensors(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	files, _ := tinyFiles(t)
	f.AddRepo("org/tiny", commitA, files, "main")
	opts := testOpts(t, f)
	_, err := Resolve(context.Background(), "org/tiny", opts)
	must(t, err)
	st, err := safetensors.Open(filepath.Join(opts.CacheDir, "models--org--tiny", "blobs", hubtest.SHA256(files["model.safetensors"])))
	must(t, err)
	st.Close()
}

// The hub answers small files with a redirect to /api/resolve-cache/ at the
// commit; the commit header is on the first answer only.
func TestHubResolveCacheRedirect(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	f.ResolveCache = true
	files, src := tinyFiles(t)
	f.AddRepo("org/tiny", commitA, files, "main")
	opts := testOpts(t, f)
	dir, err := Resolve(context.Background(), "org/tiny", opts)
	must(t, err)
	if want := filepath.Join(opts.CacheDir, "models--org--tiny", "snapshots", commitA); dir != want {
		t.Fatalf("dir %s, want %s", dir, want)
	}
	target, err := os.Readlink(filepath.Join(dir, "config.json"))
	must(t, err)
	if want := filepath.FromSlash("../../blobs/" + hubtest.GitSHA1(files["config.json"])); target != want {
		t.Errorf("config.json -> %s, want %s", target, want)
	}
	m, _, err := checkpoint.Load(dir, model.SequenceClassification, checkpoint.Options{})
	must(t, err)
	sameData(t, m, src)
	sawCache := false
	for _, r := range f.Requests() {
		sawCache = sawCache || strings.HasPrefix(r.String(), "GET /api/resolve-cache/")
	}
	if !sawCache {
		t.Errorf("no download went through resolve-cache: %v", f.Requests())
	}
}
