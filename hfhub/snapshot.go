package hfhub

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/subtune/subtune/checkpoint"
)

// files says what a snapshot needs: config.json and the weights, or only
// a tokenizer.
type files struct{ weights bool }

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

// fetchSnapshot downloads what need asks for of repo at rev and returns
// the snapshot folder. The ref of rev is written last, so that a fetch
// that fails half-way leaves the previous complete snapshot as the cached
// one.
func (h *hub) fetchSnapshot(ctx context.Context, repo, rev string, need files) (string, error) {
	repoDir := filepath.Join(h.cache, repoFolder(repo))
	if commitPattern.MatchString(rev) {
		if dir, err := complete(repoDir, rev, need, true); err == nil {
			return dir, nil
		}
	}
	// config.json first: its answer fixes the commit for every other file.
	meta, err := h.head(ctx, repo, rev, "config.json")
	noConfig := errors.Is(err, errEntryNotFound)
	if noConfig && need.weights {
		return "", notFoundError{fmt.Errorf("%w: %s has no config.json at revision %s on %s; is it a BERT or RoBERTa model repository?",
			ErrNoModel, repo, rev, h.endpoint)}
	}
	if err != nil && !noConfig {
		return "", err
	}
	s := &snapshot{h: h, repo: repo, rev: rev, urlRev: rev, repoDir: repoDir, name: url.PathEscape(rev)}
	if meta.commit != "" {
		s.urlRev, s.name, s.commit = meta.commit, meta.commit, true
	}
	if noConfig {
		s.markMissing("config.json")
	} else if _, err := os.Stat(s.pointer("config.json")); err != nil {
		if err := s.store(ctx, "config.json", meta); err != nil {
			return "", err
		}
	}
	if need.weights {
		if err := s.getWeights(ctx); err != nil {
			return "", err
		}
	}
	if err := s.getTokenizer(ctx, need); err != nil {
		return "", err
	}
	if s.commit && s.name != rev {
		if err := writeRef(repoDir, rev, s.name); err != nil {
			return "", err
		}
	}
	return s.dir(), nil
}

// getWeights fetches model.safetensors, else its sharded index and
// shards, else the same of pytorch_model.bin.
func (s *snapshot) getWeights(ctx context.Context) error {
	for _, single := range []string{"model.safetensors", "pytorch_model.bin"} {
		if found, err := s.get(ctx, single); found || err != nil {
			return err
		}
		found, err := s.get(ctx, single+".index.json")
		if err != nil {
			return err
		}
		if found {
			return s.getShards(ctx, single+".index.json")
		}
	}
	return notFoundError{fmt.Errorf("%w: %s at revision %s on %s has no model.safetensors or pytorch_model.bin (nor a sharded .index.json of either). "+
		"If it has TensorFlow or Flax weights only, the safetensors conversion bot may have opened a pull request adding model.safetensors: "+
		"look for it at %s/%s/discussions and pass %s@refs/pr/N, N being that pull request's number",
		ErrNoModel, s.repo, s.rev, s.h.endpoint, s.h.endpoint, s.repo, s.repo)}
}

func (s *snapshot) getShards(ctx context.Context, index string) error {
	shards, err := checkpoint.WeightFiles(s.dir())
	if err != nil {
		return err
	}
	for _, p := range shards {
		shard := filepath.Base(p)
		ok, err := s.get(ctx, shard)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s at revision %s: %s names shard %s, which the repository does not have", s.repo, s.rev, index, shard)
		}
	}
	return nil
}

func (s *snapshot) getTokenizer(ctx context.Context, need files) error {
	found := false
	for _, f := range checkpoint.TokenizerFiles {
		ok, err := s.get(ctx, f)
		if err != nil {
			return err
		}
		found = found || ok
	}
	if !found && !need.weights {
		return notFoundError{fmt.Errorf("%w: %s at revision %s on %s has no tokenizer files (tokenizer.json, vocab.txt, or vocab.json and merges.txt)",
			ErrNoModel, s.repo, s.rev, s.h.endpoint)}
	}
	return nil
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
		s.markMissing(file)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, s.store(ctx, file, meta)
}

// markMissing remembers, as huggingface_hub does, that the commit lacks
// file, so that later runs (and offline ones) need not ask again.
func (s *snapshot) markMissing(file string) {
	if s.commit && os.MkdirAll(filepath.Dir(s.noExist(file)), 0o755) == nil {
		_ = os.WriteFile(s.noExist(file), nil, 0o644)
	}
}

// store downloads a file whose metadata is known into the blobs (unless the
// blob is already there) and links it into the snapshot.
func (s *snapshot) store(ctx context.Context, file string, meta fileMeta) error {
	blob, err := s.h.download(ctx, s.repoDir, s.repo+" "+file, meta)
	if err != nil {
		return err
	}
	return link(blob, s.pointer(file))
}
