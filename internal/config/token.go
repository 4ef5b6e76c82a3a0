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

// tokenFromFile makes s read its token from the file at path, checked now
// and read afresh before every API request: a rotated token takes effect
// however the file was replaced (a symlink swap, a copy that kept the
// modification time), and a small read costs nothing next to HTTPS.
func (s *Source) tokenFromFile(path string) error {
	if _, err := readTokenFile(path); err != nil {
		return err
	}
	s.Token = func() (string, error) { return readTokenFile(path) }
	s.TokenSource = "file " + path
	return nil
}

// tokenFromEnv makes s send value, the token of $name, cleaned once.
func (s *Source) tokenFromEnv(name, value string) error {
	token, err := fptapi.CleanToken(value)
	if err != nil {
		return fmt.Errorf("$%s: %w", name, err)
	}
	s.Token = func() (string, error) { return token, nil }
	s.TokenSource = "environment $" + name
	return nil
}

// readTokenFile returns the file's current token; errors never contain it.
func readTokenFile(path string) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	defer file.Close()
	raw, err := io.ReadAll(io.LimitReader(file, MaxTokenFileSize+1))
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if len(raw) > MaxTokenFileSize {
		return "", fmt.Errorf("token file %s: more than %d bytes is too large for a token", path, MaxTokenFileSize)
	}
	token, err := fptapi.CleanToken(string(raw))
	if err != nil {
		return "", fmt.Errorf("token file %s: %w", path, err)
	}
	return token, nil
}
