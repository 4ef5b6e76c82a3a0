package config

import (
	"fmt"
	"io"
	"os"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// MaxTokenFileSize bounds how much of a token file is read: FPT tokens are a
// few hundred bytes, so anything larger is the wrong file.
const MaxTokenFileSize = 64 << 10

// tokenFile serves the API token from a file, read afresh before every API
// request, so a rotated token (FPT tokens expire, e.g. every 30 days) takes
// effect without a restart, however the file was replaced (a symlink swap,
// or a copy that kept the old modification time). One small read per API
// request costs nothing next to the HTTPS request itself.
type tokenFile struct {
	path string
}

// newTokenFile checks that path holds a usable token now.
func newTokenFile(path string) (*tokenFile, error) {
	f := &tokenFile{path: path}
	if _, err := f.Token(); err != nil {
		return nil, err
	}
	return f, nil
}

// Token returns the file's current token. Errors never contain the token.
func (f *tokenFile) Token() (string, error) {
	file, err := os.Open(f.path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	defer file.Close()
	raw, err := io.ReadAll(io.LimitReader(file, MaxTokenFileSize+1))
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if len(raw) > MaxTokenFileSize {
		return "", fmt.Errorf("token file %s: more than %d bytes is too large for a token", f.path, MaxTokenFileSize)
	}
	token, err := fptapi.CleanToken(string(raw))
	if err != nil {
		return "", fmt.Errorf("token file %s: %w", f.path, err)
	}
	return token, nil
}
