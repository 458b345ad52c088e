package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/subtune/subtune/hfhub"
)

// modelSource says where a command's models come from besides their name:
// run_glue's --model_revision, --cache_dir and --token. Every command that
// takes a model resolves it here, through hfhub: a local folder, or a hub
// id fetched into the HuggingFace cache.
type modelSource struct {
	revision, cacheDir, token string
}

const modelNameHelp = "model folder, or hub model id (name or org/name, optionally @revision) fetched into the HuggingFace cache"

// addFlags registers the flags on fs.
func (s *modelSource) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&s.revision, "model_revision", "", modelRevisionHelp)
	fs.StringVar(&s.cacheDir, "cache_dir", "", cacheDirHelp)
	fs.StringVar(&s.token, "token", "", tokenHelp)
}

const (
	modelRevisionHelp = `branch, tag, commit or pull request (refs/pr/N) of a hub model (default "main"; or name@revision)`
	cacheDirHelp      = "HuggingFace hub cache (default $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)"
	tokenHelp         = "hub access token for private or gated models (default $HF_TOKEN, else the token huggingface-cli login saved)"
)

func (s *modelSource) options(log io.Writer) hfhub.Options {
	return hfhub.Options{Revision: s.revision, CacheDir: s.cacheDir, Token: s.token, Progress: log}
}

// resolve returns the folder of the model nameOrPath, saying where a hub
// model was found.
func (s *modelSource) resolve(ctx context.Context, nameOrPath string, log io.Writer) (string, error) {
	return s.report(nameOrPath, log)(hfhub.Resolve(ctx, nameOrPath, s.options(log)))
}

// resolveTokenizer is resolve for a tokenizer: no weights are fetched.
func (s *modelSource) resolveTokenizer(ctx context.Context, nameOrPath string, log io.Writer) (string, error) {
	return s.report(nameOrPath, log)(hfhub.ResolveTokenizer(ctx, nameOrPath, s.options(log)))
}

func (s *modelSource) report(nameOrPath string, log io.Writer) func(string, error) (string, error) {
	return func(dir string, err error) (string, error) {
		if err == nil && dir != nameOrPath {
			fmt.Fprintf(log, "%s: %s\n", nameOrPath, dir)
		}
		return dir, err
	}
}
