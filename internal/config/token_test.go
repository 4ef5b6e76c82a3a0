package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeToken writes a token file with a distinct modification time, as a
// rotation by a secret manager would.
func writeToken(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	require.NoError(t, os.Chtimes(path, mtime, mtime))
}

func TestTokenFileRereadsOnChange(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "token")
	start := time.Now().Add(-time.Hour)
	writeToken(t, path, "first-token\n", start)

	var src Source
	require.NoError(t, src.tokenFromFile(path))
	tok, err := src.Token()
	require.NoError(t, err)
	assert.Equal(t, "first-token", tok)

	writeToken(t, path, "second-token\n", start.Add(time.Minute))
	tok, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "second-token", tok)

	// A rotation that keeps the size and the modification time (cp -p,
	// rsync -t) is seen too.
	writeToken(t, path, "third--token\n", start.Add(time.Minute))
	tok, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "third--token", tok)

	// A rotation through a symlink swap, as Kubernetes mounts secrets.
	dir := filepath.Dir(path)
	target := filepath.Join(dir, "v3")
	writeToken(t, target, "fourth-token", start.Add(2*time.Minute))
	link := filepath.Join(dir, "linked")
	require.NoError(t, os.Symlink(path, link))
	require.NoError(t, src.tokenFromFile(link))
	require.NoError(t, os.Remove(link))
	require.NoError(t, os.Symlink(target, link))
	tok, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "fourth-token", tok)
}

func TestTokenFileErrorsNeverContainTheToken(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "token")
	writeToken(t, path, "secret token with spaces", time.Now())
	err := new(Source).tokenFromFile(path)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret")

	writeToken(t, path, strings.Repeat("x", MaxTokenFileSize+1), time.Now())
	err = new(Source).tokenFromFile(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "too large")
}

// TestTokenFileHelpSaysWhatItDoes: the flag's help and docs/flags.md say
// when the file is read, in the same words, and that is what Token does
// (TestTokenFileRereadsOnChange).
func TestTokenFileHelpSaysWhatItDoes(t *testing.T) {
	t.Parallel()
	const when = "read at start and again before every API request, so a rotated token needs no restart"
	app := NewApp()
	flag := app.GetFlag("fpt.token-file")
	require.NotNil(t, flag)
	help := flag.Model().Help
	assert.Contains(t, help, when)

	docs, err := os.ReadFile("../../docs/flags.md")
	require.NoError(t, err)
	var row string
	for line := range strings.Lines(string(docs)) {
		if strings.HasPrefix(line, "| `--fpt.token-file` |") {
			row = strings.ReplaceAll(line, "`", "")
		}
	}
	require.NotEmpty(t, row, "docs/flags.md has no row for --fpt.token-file")
	assert.Contains(t, row, help, "docs/flags.md says what --help says")
}
