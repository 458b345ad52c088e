// Package hubtest is a HuggingFace hub on loopback for tests: the resolve
// endpoint as the hub answers it (X-Repo-Commit on every answer, git SHA-1
// ETags for small files, LFS files redirected to a CDN on another host
// with X-Linked-Etag and X-Linked-Size, X-Error-Code RepoNotFound,
// GatedRepo, RevisionNotFound and EntryNotFound, /api/resolve-cache/
// redirects, renamed repositories), a CDN that honours Range requests, and
// faults to inject: error statuses with Retry-After, bodies cut half-way
// or stalled, corrupt bodies.
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Server is a fake hub and its CDN.
type Server struct {
	Hub, CDN *httptest.Server
	// ResolveCache redirects small files (307) to /api/resolve-cache/,
	// as the hub does, whose answer carries the ETag but no commit.
	ResolveCache bool
	// NoRange makes the CDN ignore Range and send whole files (200).
	NoRange bool

	mu       sync.Mutex
	repos    map[string]*Repo
	blobs    map[string]blob // by SHA-256, on the CDN
	requests []Request
	faults   []fault
	stalled  chan struct{}
}

// Repo is a model repository on the fake hub.
type Repo struct {
	refs    map[string]string            // branch or tag → commit
	commits map[string]map[string][]byte // commit → file → content
	// Token, when set, gates the repository: only "Bearer <Token>" may read it.
	Token string
	// RenamedTo redirects every request to that repository.
	RenamedTo string
}

// Request is one request either server received.
type Request struct {
	Method, Path, Range, Authorization string
	CDN                                bool
}

func (r Request) String() string { return r.Method + " " + r.Path }

type blob struct {
	name string
	data []byte
}

// A fault changes the next matching answers.
type fault struct {
	file       string // matches requests for this file (CDN: the LFS file's name); "" any hub request
	times      int
	status     int    // answer this status ...
	retryAfter string // ... with this Retry-After
	cut        bool   // send half the body, then close the connection
	stall      bool   // send half the body, then nothing until the client goes
	corrupt    bool   // flip a byte in the middle of the body
}

// New starts the hub and its CDN, closed when the test ends.
func New(tb testing.TB) *Server {
	s := &Server{repos: map[string]*Repo{}, blobs: map[string]blob{}, stalled: make(chan struct{}, 16)}
	s.Hub = httptest.NewServer(http.HandlerFunc(s.serveHub))
	s.CDN = httptest.NewServer(http.HandlerFunc(s.serveCDN))
	tb.Cleanup(func() {
		s.Hub.Close()
		s.CDN.Close()
	})
	return s
}

// IsLFS tells which files the hub stores in LFS (and serves from the CDN).
func IsLFS(name string) bool {
	return strings.HasSuffix(name, ".safetensors") || strings.HasSuffix(name, ".bin")
}

// GitSHA1 is the git blob hash, the ETag of a small file.
func GitSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// SHA256 is the hex SHA-256, the ETag of an LFS file.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ETag is the ETag the hub gives file (the blob's name in the cache).
func ETag(name string, data []byte) string {
	if IsLFS(name) {
		return SHA256(data)
	}
	return GitSHA1(data)
}

// AddRepo publishes files as one commit; refs (such as "main") name it.
func (s *Server) AddRepo(name, commit string, files map[string][]byte, refs ...string) *Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[name]
	if r == nil {
		r = &Repo{refs: map[string]string{}, commits: map[string]map[string][]byte{}}
		s.repos[name] = r
	}
	r.commits[commit] = files
	for _, ref := range refs {
		r.refs[ref] = commit
	}
	for n, b := range files {
		if IsLFS(n) {
			s.blobs[SHA256(b)] = blob{name: n, data: b}
		}
	}
	return r
}

// Fail answers the next n hub requests with status and, unless empty,
// Retry-After.
func (s *Server) Fail(n, status int, retryAfter string) {
	s.addFault(fault{times: n, status: status, retryAfter: retryAfter})
}

// Cut sends only the first half of file's next n downloads from the CDN,
// then closes the connection.
func (s *Server) Cut(file string, n int) { s.addFault(fault{file: file, times: n, cut: true}) }

// Stall sends the first half of file's next n downloads, then nothing
// until the client gives up; Stalled receives once per stall.
func (s *Server) Stall(file string, n int) { s.addFault(fault{file: file, times: n, stall: true}) }

// Corrupt flips a byte in file's next n downloads.
func (s *Server) Corrupt(file string, n int) { s.addFault(fault{file: file, times: n, corrupt: true}) }

// Stalled is signalled when a stalled body has sent its half.
func (s *Server) Stalled() <-chan struct{} { return s.stalled }

func (s *Server) addFault(f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// takeFault consumes one use of the first fault matching file on the hub
// (cdn false) or the CDN.
func (s *Server) takeFault(file string, cdn bool) (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		onCDN := f.cut || f.stall || f.corrupt
		if f.times > 0 && onCDN == cdn && (f.file == "" || f.file == file) {
			f.times--
			return *f, true
		}
	}
	return fault{}, false
}

func (s *Server) log(r *http.Request, cdn bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.EscapedPath(), Range: r.Header.Get("Range"),
		Authorization: r.Header.Get("Authorization"), CDN: cdn})
}

// Requests returns the requests both servers received since the last Reset.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Reset forgets the requests received.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// ReadDir returns the files of a folder by name, as a repository's files
// for AddRepo.
func ReadDir(tb testing.TB, dir string) map[string][]byte {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}
