package hfhub

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options tunes Resolve. The zero value behaves as huggingface_hub does
// with the same environment.
type Options struct {
	// Endpoint is the hub's base URL. Empty means $HF_ENDPOINT, else
	// https://huggingface.co.
	Endpoint string
	// Token, when set, is sent as "Authorization: Bearer <token>" to the
	// endpoint (never to the CDN it redirects large files to). Empty means
	// the implicit token: $HF_TOKEN, $HUGGING_FACE_HUB_TOKEN, or the file
	// $HF_TOKEN_PATH (default $HF_HOME/token) that `huggingface-cli login`
	// writes — none of them when HF_HUB_DISABLE_IMPLICIT_TOKEN is set.
	Token string
	// CacheDir is the hub cache. Empty means $HF_HUB_CACHE, else
	// $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
	// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
	// A leading ~ and $VARS are expanded, here and in those variables.
	CacheDir string
	// Revision is the branch, tag or commit to fetch when the name carries
	// no "@revision". Empty means "main".
	Revision string
	// Offline uses the cache only, as HF_HUB_OFFLINE=1 (which also turns it
	// on, as does TRANSFORMERS_OFFLINE=1).
	Offline bool
	// Progress receives download progress of large files and notices such
	// as retries or falling back to the cache. nil means os.Stderr;
	// io.Discard silences it.
	Progress io.Writer
	// Client makes the requests. nil means a client with connect and
	// response-header timeouts but no overall deadline (a checkpoint may
	// take minutes); cancel the context to stop.
	Client *http.Client
	// IdleTimeout is the longest wait for a response's headers or for the
	// next bytes of its body; a download silent that long is dropped and
	// resumed. 0 means $HF_HUB_DOWNLOAD_TIMEOUT seconds, else 10 s, as
	// huggingface_hub.
	IdleTimeout time.Duration
	// Retries is how often a request is repeated after a 429, a 5xx or a
	// dropped connection. 0 means 5; negative means none.
	Retries int
	// RetryWait is the first pause before a retry, doubled after each up
	// to 8 times it, unless the server's Retry-After says otherwise. 0
	// means 1 s.
	RetryWait time.Duration
}

// DefaultEndpoint is the HuggingFace hub.
const DefaultEndpoint = "https://huggingface.co"

// CacheDir returns the hub cache folder Options{CacheDir: dir} selects,
// resolving the environment as huggingface_hub does.
func CacheDir(dir string) string {
	if dir != "" {
		return expandPath(dir)
	}
	for _, env := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if v := os.Getenv(env); v != "" {
			return expandPath(v)
		}
	}
	return filepath.Join(hfHome(), "hub")
}

// hfHome is huggingface_hub's HF_HOME: the folder of the cache and token.
func hfHome() string {
	if v := os.Getenv("HF_HOME"); v != "" {
		return expandPath(v)
	}
	if v := os.Getenv("XDG_CACHE_HOME"); v != "" {
		return filepath.Join(expandPath(v), "huggingface")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".cache", "huggingface")
}

// expandPath expands a leading ~ and $VAR or ${VAR}, as Python's
// expanduser and expandvars do: an unset variable stays as written.
func expandPath(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, "~"+string(filepath.Separator)) {
		if home, err := os.UserHomeDir(); err == nil {
			p = home + p[1:]
		}
	}
	return os.Expand(p, func(name string) string {
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		return "${" + name + "}"
	})
}

// envTrue is huggingface_hub's reading of boolean environment variables.
func envTrue(name string) bool {
	switch strings.ToUpper(strings.TrimSpace(os.Getenv(name))) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// offline reports whether o or the environment forbids requests.
func (o Options) offline() bool {
	return o.Offline || envTrue("HF_HUB_OFFLINE") || envTrue("TRANSFORMERS_OFFLINE")
}

// idleTimeout is o.IdleTimeout or huggingface_hub's download timeout.
func (o Options) idleTimeout() (time.Duration, error) {
	if o.IdleTimeout > 0 {
		return o.IdleTimeout, nil
	}
	if v := os.Getenv("HF_HUB_DOWNLOAD_TIMEOUT"); v != "" {
		s, err := strconv.ParseFloat(v, 64)
		if err != nil || s <= 0 {
			return 0, fmt.Errorf("HF_HUB_DOWNLOAD_TIMEOUT=%q: want a positive number of seconds", v)
		}
		return time.Duration(s * float64(time.Second)), nil
	}
	return 10 * time.Second, nil
}

// token returns the token to send and where it came from ("" if none).
// Tokens are trimmed of whitespace and line breaks, as huggingface_hub
// does: a token file usually ends in a newline.
func (o Options) token() (tok, source string, err error) {
	tok, source = cleanToken(o.Token), "--token"
	if tok == "" && !envTrue("HF_HUB_DISABLE_IMPLICIT_TOKEN") {
		tok, source, err = implicitToken()
		if err != nil {
			return "", "", err
		}
	}
	if tok == "" {
		return "", "", nil
	}
	for _, r := range tok {
		if r < 0x20 || r == 0x7f {
			return "", "", fmt.Errorf("the token from %s holds a control character; it cannot be sent in an HTTP header", source)
		}
	}
	return tok, source, nil
}

func implicitToken() (tok, source string, err error) {
	for _, env := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if t := cleanToken(os.Getenv(env)); t != "" {
			return t, "$" + env, nil
		}
	}
	path := filepath.Join(hfHome(), "token")
	if v := os.Getenv("HF_TOKEN_PATH"); v != "" {
		path = expandPath(v)
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("reading the hub token: %w", err)
	}
	return cleanToken(string(b)), path, nil
}

func cleanToken(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r", "", "\n", "").Replace(s))
}
