package hfhub

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseModelName(t *testing.T) {
	for _, c := range []struct {
		in, repo, rev string
		ok            bool
	}{
		{"bert-base-uncased", "bert-base-uncased", "", true},
		{"google-bert/bert-base-uncased", "google-bert/bert-base-uncased", "", true},
		{"FacebookAI/roberta-base@main", "FacebookAI/roberta-base", "main", true},
		{"org/name@refs/pr/1", "org/name", "refs/pr/1", true},
		{"org/name@0123456789abcdef0123456789abcdef01234567", "org/name", "0123456789abcdef0123456789abcdef01234567", true},
		{"org/v1.2_x", "org/v1.2_x", "", true},
		{"org/name@", "", "", false},
		{"a/b/c", "", "", false},
		{"org--x/name", "", "", false},
		{"org/na..me", "", "", false},
		{"org/name.git", "", "", false},
		{"-org/name", "", "", false},
		{"org/name-", "", "", false},
		{"bad name", "", "", false},
		{"org/" + strings.Repeat("x", 97), "", "", false},
		{"", "", "", false},
	} {
		repo, rev, err := ParseModelName(c.in)
		if (err == nil) != c.ok || repo != c.repo || rev != c.rev {
			t.Errorf("ParseModelName(%q) = %q, %q, %v", c.in, repo, rev, err)
		}
		if err != nil && !errors.Is(err, ErrNoModel) {
			t.Errorf("ParseModelName(%q): %v is not ErrNoModel", c.in, err)
		}
	}
}

func TestResolveLocalFolder(t *testing.T) {
	hubTestEnv(t)
	// No request may be made: the endpoint does not exist.
	opts := Options{Endpoint: "http://127.0.0.1:1", CacheDir: t.TempDir()}
	ctx := context.Background()
	dir := t.TempDir()
	got, err := Resolve(ctx, dir, opts)
	if err != nil || got != dir {
		t.Fatalf("existing folder: %s, %v", got, err)
	}
	// A relative folder that happens to look like a hub id wins over the hub.
	t.Run("relative", func(t *testing.T) {
		root := t.TempDir()
		must(t, os.MkdirAll(filepath.Join(root, "org", "model"), 0o755))
		t.Chdir(root)
		for _, name := range []string{"org", "org/model"} {
			if got, err := Resolve(ctx, name, opts); err != nil || got != name {
				t.Errorf("relative folder %s: %s, %v", name, got, err)
			}
		}
	})

	file := filepath.Join(dir, "config.json")
	must(t, os.WriteFile(file, []byte("{}"), 0o644))
	if _, err := Resolve(ctx, file, opts); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file: %v", err)
	}
	for _, missing := range []string{filepath.Join(dir, "nope"), "./runs/model", "../x", "runs/out/model"} {
		if _, err := Resolve(ctx, missing, opts); err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("%s: %v", missing, err)
		}
	}
	for _, bad := range []string{"bad name!", "", "org/name@../../x"} {
		if _, err := Resolve(ctx, bad, opts); !errors.Is(err, ErrNoModel) {
			t.Errorf("%q: %v, want ErrNoModel", bad, err)
		}
	}
}

func TestCacheDir(t *testing.T) {
	hubTestEnv(t)
	t.Setenv("HF_HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got := CacheDir(""); got != filepath.FromSlash("/home/u/.cache/huggingface/hub") {
		t.Errorf("default: %s", got)
	}
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got := CacheDir(""); got != filepath.FromSlash("/xdg/huggingface/hub") {
		t.Errorf("XDG_CACHE_HOME: %s", got)
	}
	t.Setenv("HF_HOME", "/hf")
	if got := CacheDir(""); got != filepath.FromSlash("/hf/hub") {
		t.Errorf("HF_HOME: %s", got)
	}
	t.Setenv("HF_HUB_CACHE", "/cache")
	if got := CacheDir(""); got != "/cache" {
		t.Errorf("HF_HUB_CACHE: %s", got)
	}
	if got := CacheDir("/mine"); got != "/mine" {
		t.Errorf("explicit: %s", got)
	}
}

func TestResolveOfflineNotCached(t *testing.T) {
	hubTestEnv(t)
	t.Setenv("HF_HUB_OFFLINE", "1")
	_, err := Resolve(context.Background(), "bert-base-uncased", Options{Endpoint: "http://127.0.0.1:1", CacheDir: t.TempDir()})
	if err == nil {
		t.Fatal("offline resolution of an uncached model succeeded")
	}
	for _, want := range []string{"HF_HUB_OFFLINE", "bert-base-uncased", "not in the hub cache", "local model folder"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
