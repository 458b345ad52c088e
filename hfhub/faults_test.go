package hfhub

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/subtune/subtune/internal/hubtest"
)

// warm publishes the tiny model as org/tiny and resolves it once.
func warm(t *testing.T) (*hubtest.Server, Options, map[string][]byte, string) {
	t.Helper()
	hubTestEnv(t)
	f := hubtest.New(t)
	files, _ := tinyFiles(t)
	f.AddRepo("org/tiny", commitA, files, "main")
	opts := testOpts(t, f)
	dir, err := Resolve(context.Background(), "org/tiny", opts)
	must(t, err)
	f.Reset()
	return f, opts, files, dir
}

func sameFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Errorf("%s: content differs from the published file", path)
	}
}

func TestHubRetryAfter429(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	files, _ := tinyFiles(t)
	f.AddRepo("org/tiny", commitA, files, "main")
	f.Fail(1, http.StatusTooManyRequests, "1")
	start := time.Now()
	dir, err := Resolve(context.Background(), "org/tiny", testOpts(t, f))
	must(t, err)
	if d := time.Since(start); d < time.Second {
		t.Errorf("resolved in %s: Retry-After: 1 was not honoured", d)
	}
	reqs := f.Requests()
	if len(reqs) < 2 || reqs[0] != reqs[1] {
		t.Errorf("requests %v: want the rate-limited request repeated", reqs)
	}
	sameFile(t, filepath.Join(dir, "model.safetensors"), files["model.safetensors"])
}

// A hub that keeps answering 429 (or 5xx) does not fail a run whose model
// is cached.
func TestHubErrorUsesCache(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusUnauthorized} {
		f, opts, _, dir := warm(t)
		f.Fail(100, status, "0")
		var notice bytes.Buffer
		opts.Progress = &notice
		got, err := Resolve(context.Background(), "org/tiny", opts)
		if err != nil || got != dir {
			t.Fatalf("%d: %s, %v; want the cached %s", status, got, err, dir)
		}
		if !strings.Contains(notice.String(), "using the cached copy") {
			t.Errorf("%d: no notice of the fallback: %q", status, notice.String())
		}
	}
	// Not for a revision the hub says does not exist.
	_, opts, _, _ := warm(t)
	if _, err := Resolve(context.Background(), "org/tiny@nope", opts); err == nil || !strings.Contains(err.Error(), `no revision "nope"`) {
		t.Errorf("unknown revision: %v", err)
	}
}

// A connection cut half-way through the weights resumes with a Range
// request from where it stopped; a server ignoring Range restarts cleanly.
func TestHubResume(t *testing.T) {
	for _, noRange := range []bool{false, true} {
		hubTestEnv(t)
		f := hubtest.New(t)
		f.NoRange = noRange
		files, _ := tinyFiles(t)
		weights := files["model.safetensors"]
		f.AddRepo("org/tiny", commitA, files, "main")
		f.Cut("model.safetensors", 1)
		dir, err := Resolve(context.Background(), "org/tiny", testOpts(t, f))
		must(t, err)
		sameFile(t, filepath.Join(dir, "model.safetensors"), weights)
		want := []string{"", "bytes=" + strconv.Itoa(len(weights)/2) + "-"}
		if got := rangesAsked(f); !slices.Equal(got, want) {
			t.Errorf("NoRange %v: CDN requests with Range %q, want %q", noRange, got, want)
		}
		assertNoPartial(t, filepath.Dir(filepath.Dir(dir)))
	}
}

// A body that stops flowing is dropped after the idle timeout and resumed.
func TestHubStalledBody(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	files, _ := tinyFiles(t)
	weights := files["model.safetensors"]
	f.AddRepo("org/tiny", commitA, files, "main")
	f.Stall("model.safetensors", 1)
	opts := testOpts(t, f)
	opts.IdleTimeout = 200 * time.Millisecond
	start := time.Now()
	dir, err := Resolve(context.Background(), "org/tiny", opts)
	must(t, err)
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %s", d)
	}
	sameFile(t, filepath.Join(dir, "model.safetensors"), weights)
	if got, want := rangesAsked(f), []string{"", "bytes=" + strconv.Itoa(len(weights)/2) + "-"}; !slices.Equal(got, want) {
		t.Errorf("CDN requests with Range %q, want %q", got, want)
	}
}

// Offline, a warm cache answers without a single request.
func TestHubOfflineNoRequest(t *testing.T) {
	for _, env := range []string{"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"} {
		f, opts, _, dir := warm(t)
		t.Setenv(env, "1")
		got, err := Resolve(context.Background(), "org/tiny", opts)
		if err != nil || got != dir {
			t.Errorf("%s=1: %s, %v; want %s", env, got, err, dir)
		}
		if reqs := f.Requests(); len(reqs) != 0 {
			t.Errorf("%s=1: the hub saw %v", env, reqs)
		}
	}
}

// Tokens are read as huggingface_hub reads them, and trimmed.
func TestHubToken(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, home string)
		opt   string
		sent  bool
	}{
		{"token file with newline", func(t *testing.T, home string) {
			must(t, os.WriteFile(filepath.Join(home, "token"), []byte("hf_secret\n"), 0o600))
		}, "", true},
		{"HF_TOKEN_PATH", func(t *testing.T, home string) {
			p := filepath.Join(t.TempDir(), "tok")
			must(t, os.WriteFile(p, []byte("  hf_secret\r\n"), 0o600))
			t.Setenv("HF_TOKEN_PATH", p)
		}, "", true},
		{"HF_TOKEN with newline", func(t *testing.T, _ string) { t.Setenv("HF_TOKEN", "hf_secret\n") }, "", true},
		{"HUGGING_FACE_HUB_TOKEN", func(t *testing.T, _ string) { t.Setenv("HUGGING_FACE_HUB_TOKEN", "hf_secret") }, "", true},
		{"implicit token disabled", func(t *testing.T, _ string) {
			t.Setenv("HF_TOKEN", "hf_secret")
			t.Setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
		}, "", false},
		{"explicit token", func(t *testing.T, _ string) { t.Setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1") }, "hf_secret\n", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hubTestEnv(t)
			c.setup(t, os.Getenv("HF_HOME"))
			f := hubtest.New(t)
			files, _ := tinyFiles(t)
			f.AddRepo("org/gated", commitA, files, "main").Token = "hf_secret"
			opts := testOpts(t, f)
			opts.Token = c.opt
			_, err := Resolve(context.Background(), "org/gated", opts)
			if c.sent && err != nil {
				t.Fatalf("token not accepted: %v", err)
			}
			if !c.sent && (err == nil || !strings.Contains(err.Error(), "gated")) {
				t.Fatalf("err = %v, want the gated-repository error", err)
			}
			for _, r := range f.Requests() {
				if auth := r.Authorization; !r.CDN && (auth == "Bearer hf_secret") != c.sent {
					t.Errorf("%s: Authorization %q", r, auth)
				}
			}
		})
	}
}

func TestHubTokenizerOnly(t *testing.T) {
	hubTestEnv(t)
	f := hubtest.New(t)
	files, _ := tinyFiles(t)
	f.AddRepo("org/tiny", commitA, files, "main")
	dir, err := ResolveTokenizer(context.Background(), "org/tiny", testOpts(t, f))
	must(t, err)
	sameFile(t, filepath.Join(dir, "vocab.txt"), files["vocab.txt"])
	if len(cdnGets(f)) != 0 {
		t.Errorf("the weights were downloaded for a tokenizer: %v", cdnGets(f))
	}
}

func TestExpandPath(t *testing.T) {
	home, err := os.UserHomeDir()
	must(t, err)
	t.Setenv("SUBTUNE_TEST_ROOT", "/data")
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HUGGINGFACE_HUB_CACHE", "")
	for in, want := range map[string]string{
		"~/hf":                     filepath.Join(home, "hf"),
		"$SUBTUNE_TEST_ROOT/hf":    "/data/hf",
		"${SUBTUNE_TEST_ROOT}/hf":  "/data/hf",
		"$SUBTUNE_TEST_UNSET_X/hf": "${SUBTUNE_TEST_UNSET_X}/hf",
		"/plain/path":              "/plain/path",
	} {
		t.Setenv("HF_HOME", in)
		if got := CacheDir(""); got != filepath.Join(want, "hub") {
			t.Errorf("HF_HOME=%s: cache %s, want %s/hub", in, got, want)
		}
		if got := CacheDir(in); got != want {
			t.Errorf("--cache_dir %s: %s, want %s", in, got, want)
		}
	}
}
