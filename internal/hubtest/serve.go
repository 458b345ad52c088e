package hubtest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

func (s *Server) serveHub(w http.ResponseWriter, r *http.Request) {
	s.log(r, false)
	if f, ok := s.takeFault("", false); ok {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		http.Error(w, http.StatusText(f.status), f.status)
		return
	}
	path := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(path, "/api/resolve-cache/models/"); ok {
		s.serveResolveCache(w, r, rest)
		return
	}
	repoName, rev, file, ok := splitResolve(path)
	if !ok {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	repo := s.repos[repoName]
	s.mu.Unlock()
	if repo == nil {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		w.Header().Set("X-Error-Message", "Repository not found")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if repo.RenamedTo != "" {
		http.Redirect(w, r, "/"+repo.RenamedTo+"/resolve/"+url.PathEscape(rev)+"/"+url.PathEscape(file), http.StatusTemporaryRedirect)
		return
	}
	if !authorized(w, r, repo) {
		return
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
	s.serveFile(w, r, repoName, commit, file, data)
}

// splitResolve splits /{repo}/resolve/{rev}/{file}.
func splitResolve(path string) (repo, rev, file string, ok bool) {
	i := strings.Index(path, "/resolve/")
	if i < 0 {
		return "", "", "", false
	}
	rest := path[i+len("/resolve/"):]
	j := strings.IndexByte(rest, '/')
	if j < 0 {
		return "", "", "", false
	}
	rev, err1 := url.PathUnescape(rest[:j])
	file, err2 := url.PathUnescape(rest[j+1:])
	return strings.TrimPrefix(path[:i], "/"), rev, file, err1 == nil && err2 == nil
}

func authorized(w http.ResponseWriter, r *http.Request, repo *Repo) bool {
	if repo.Token == "" {
		return true
	}
	switch r.Header.Get("Authorization") {
	case "Bearer " + repo.Token:
		return true
	case "":
		w.Header().Set("X-Error-Code", "GatedRepo")
		w.WriteHeader(http.StatusUnauthorized)
	default:
		w.Header().Set("X-Error-Code", "GatedRepo")
		w.WriteHeader(http.StatusForbidden)
	}
	return false
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, repoName, commit, file string, data []byte) {
	if IsLFS(file) {
		sum := SHA256(data)
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(data)))
		w.Header().Set("ETag", `"`+GitSHA1([]byte("pointer "+sum))+`"`)
		w.Header().Set("Location", s.CDN.URL+"/blobs/"+sum)
		w.WriteHeader(http.StatusFound)
		return
	}
	if s.ResolveCache {
		u := "/api/resolve-cache/models/" + repoName + "/" + commit + "/" + url.PathEscape(file) + "?etag=" + GitSHA1(data)
		http.Redirect(w, r, u, http.StatusTemporaryRedirect)
		return
	}
	w.Header().Set("ETag", `"`+GitSHA1(data)+`"`)
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(data)
	}
}

// serveResolveCache serves /api/resolve-cache/models/{repo}/{commit}/{file}.
func (s *Server) serveResolveCache(w http.ResponseWriter, r *http.Request, rest string) {
	parts := strings.Split(rest, "/")
	if len(parts) < 3 {
		http.NotFound(w, r)
		return
	}
	file, _ := url.PathUnescape(parts[len(parts)-1])
	s.mu.Lock()
	repo := s.repos[strings.Join(parts[:len(parts)-2], "/")]
	s.mu.Unlock()
	if repo == nil {
		http.NotFound(w, r)
		return
	}
	data, ok := repo.commits[parts[len(parts)-2]][file]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", `"`+GitSHA1(data)+`"`)
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(data)
	}
}

func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	s.log(r, true)
	s.mu.Lock()
	b, ok := s.blobs[strings.TrimPrefix(r.URL.Path, "/blobs/")]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	data, from := b.data, 0
	if n, ok := rangeFrom(r.Header.Get("Range")); ok && !s.NoRange {
		if n >= len(data) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		from = n
	}
	f, _ := s.takeFault(b.name, true)
	body := data[from:]
	if f.corrupt {
		body = append([]byte(nil), body...)
		body[len(body)/2] ^= 1
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if from > 0 {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(data)-1, len(data)))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	switch {
	case f.stall:
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		s.stalled <- struct{}{}
		<-r.Context().Done()
	case f.cut:
		w.Write(body[:len(body)/2]) // the handler returns short of Content-Length: the server closes the connection
	default:
		w.Write(body)
	}
}

// rangeFrom reads "bytes=n-".
func rangeFrom(v string) (int, bool) {
	rest, ok := strings.CutPrefix(v, "bytes=")
	if !ok || !strings.HasSuffix(rest, "-") {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, "-"))
	return n, err == nil && n >= 0
}
