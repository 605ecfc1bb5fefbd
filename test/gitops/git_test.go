package gitops

import (
	"bytes"
	"fmt"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// gitServer serves the bare repositories under root over Git's smart HTTP
// protocol with git's own http-backend (CGI): what source-controller clones
// from. Read-only; the tests push through the file system.
type gitServer struct {
	root string
	srv  *httptest.Server
}

func startGitServer(root string) (*gitServer, error) {
	execPath, err := gitOutput("", "--exec-path")
	if err != nil {
		return nil, err
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(execPath), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	return &gitServer{root: root, srv: httptest.NewServer(backend)}, nil
}

// URL is the clone URL of the repository name.
func (s *gitServer) URL(name string) string { return s.srv.URL + "/" + name + ".git" }

func (s *gitServer) Close() { s.srv.Close() }

// gitRepo is a work tree whose commits are pushed to a bare repository the
// server serves, on branch main.
type gitRepo struct {
	dir string
}

// newRepo makes the bare repository name.git under the server's root and a
// work tree holding a copy of src, committed and pushed as the first commit.
func (s *gitServer) newRepo(name, src, work string) (*gitRepo, error) {
	bare := filepath.Join(s.root, name+".git")
	if _, err := gitOutput("", "init", "--quiet", "--bare", "--initial-branch=main", bare); err != nil {
		return nil, err
	}
	if err := os.CopyFS(work, os.DirFS(src)); err != nil {
		return nil, err
	}
	r := &gitRepo{dir: work}
	for _, args := range [][]string{
		{"init", "--quiet", "--initial-branch=main"},
		{"remote", "add", "origin", bare},
	} {
		if _, err := r.git(args...); err != nil {
			return nil, err
		}
	}
	if _, err := r.commit("Tenants from examples/gitops", nil); err != nil {
		return nil, err
	}
	return r, nil
}

// commit applies change to the work tree, commits everything and pushes it;
// it returns the commit's hash.
func (r *gitRepo) commit(message string, change func(dir string) error) (string, error) {
	if change != nil {
		if err := change(r.dir); err != nil {
			return "", err
		}
	}
	for _, args := range [][]string{
		{"add", "--all"},
		{"-c", "user.name=Platform Team", "-c", "user.email=platform@example.com", "commit", "--quiet", "-m", message},
		{"push", "--quiet", "origin", "HEAD:main"},
	} {
		if _, err := r.git(args...); err != nil {
			return "", err
		}
	}
	sha, err := r.git("rev-parse", "HEAD")
	return strings.TrimSpace(sha), err
}

func (r *gitRepo) git(args ...string) (string, error) { return gitOutput(r.dir, args...) }

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// editFile rewrites path (relative to dir) with old replaced by new, and
// fails when old is not there: a test edit that silently does nothing
// would test nothing.
func editFile(dir, path, old, new string) error {
	full := filepath.Join(dir, path)
	data, err := os.ReadFile(full)
	if err != nil {
		return err
	}
	if !bytes.Contains(data, []byte(old)) {
		return fmt.Errorf("%s does not contain %q", path, old)
	}
	return os.WriteFile(full, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644)
}
