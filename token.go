package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"
)

// maxTokenFileSize bounds how much of a token file is read: FPT tokens are a
// few hundred bytes, so anything larger is the wrong file.
const maxTokenFileSize = 64 << 10

// tokenFile serves the API token from a file and re-reads the file when it
// changes, so a rotated token (FPT tokens expire, e.g. every 30 days) takes
// effect without a restart. A stat per API request is cheap next to the
// request itself and, unlike inotify, follows Kubernetes' symlink swaps.
type tokenFile struct {
	path string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	token   string
}

func newTokenFile(path string) (*tokenFile, error) {
	f := &tokenFile{path: path}
	if _, err := f.Token(); err != nil {
		return nil, err
	}
	return f, nil
}

// Token returns the file's current token. Errors never contain the token.
func (f *tokenFile) Token() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()

	info, err := os.Stat(f.path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if f.token != "" && info.ModTime().Equal(f.modTime) && info.Size() == f.size {
		return f.token, nil
	}
	if info.Size() > maxTokenFileSize {
		return "", fmt.Errorf("token file %s: %d bytes is too large for a token", f.path, info.Size())
	}
	raw, err := os.ReadFile(f.path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	token, err := cleanToken(string(raw))
	if err != nil {
		return "", fmt.Errorf("token file %s: %w", f.path, err)
	}
	f.token, f.modTime, f.size = token, info.ModTime(), info.Size()
	return token, nil
}

// cleanToken trims surrounding white space (files usually end in a newline)
// and refuses what cannot be sent in an Authorization header. Control
// characters are refused here, at start-up, rather than by the API client on
// every request of an exporter that could then never succeed.
func cleanToken(s string) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", errors.New("token is empty")
	}
	if strings.ContainsFunc(t, unicode.IsSpace) {
		return "", errors.New("token contains white space")
	}
	if strings.ContainsFunc(t, unicode.IsControl) {
		return "", errors.New("token contains control characters")
	}
	return t, nil
}
