package hfhub

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/checkpoint"
)

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

// cached returns the cached snapshot of repo at rev without any request;
// why says why no request is made, for the error.
func (h *hub) cached(repo, rev string, need files, why string) (string, error) {
	repoDir := filepath.Join(h.cache, repoFolder(repo))
	name := url.PathEscape(rev)
	if !commitPattern.MatchString(rev) {
		if b, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(rev))); err == nil {
			if c := strings.TrimSpace(string(b)); safeName.MatchString(c) {
				name = c
			}
		}
	}
	dir, err := complete(repoDir, name, need, false)
	if err != nil {
		return "", fmt.Errorf("%s and %s at revision %s is not in the hub cache at %s (%v); run once with network access, or pass the path of a local model folder",
			why, repo, rev, h.cache, err)
	}
	return dir, nil
}

// complete checks that a cached snapshot holds what need asks for; strict
// also wants every tokenizer file either present or known to be absent.
func complete(repoDir, name string, need files, strict bool) (string, error) {
	dir := filepath.Join(repoDir, "snapshots", name)
	if need.weights {
		if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
			return "", errors.New("no cached config.json")
		}
		shards, err := checkpoint.WeightFiles(dir)
		if err != nil {
			return "", err
		}
		for _, p := range shards {
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("shard %s is not cached", filepath.Base(p))
			}
		}
	}
	found := false
	for _, f := range checkpoint.TokenizerFiles {
		_, err1 := os.Stat(filepath.Join(dir, f))
		_, err2 := os.Stat(filepath.Join(repoDir, ".no_exist", name, f))
		found = found || err1 == nil
		if strict && err1 != nil && err2 != nil {
			return "", fmt.Errorf("%s not cached", f)
		}
	}
	if !need.weights && !found {
		return "", errors.New("no cached tokenizer file")
	}
	return dir, nil
}
