package fptapi_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http/httpguts"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

func TestCleanToken(t *testing.T) {
	t.Parallel()
	tok, err := fptapi.CleanToken("  eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln\n")
	require.NoError(t, err)
	assert.Equal(t, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", tok)

	for _, bad := range []string{"", " \n", "secret with space", "secret\x00nul", "secret\u00a0nbsp", "secret\x7fdel", "a\r\nX-Injected: 1"} {
		_, err := fptapi.CleanToken(bad)
		require.Error(t, err, "%q", bad)
		if strings.TrimSpace(bad) != "" {
			assert.NotContains(t, err.Error(), "secret", "the error never quotes the token")
		}
	}
}

// TestCleanTokenSaysWhatToDo: the mistakes people make when they paste a
// token get a message naming the fix, not a 401 from the API later.
func TestCleanTokenSaysWhatToDo(t *testing.T) {
	t.Parallel()
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"
	for name, in := range map[string]string{
		"Notepad BOM and CRLF": "\ufeff" + jwt + "\r\n",
		"BOM and spaces":       " \ufeff " + jwt + " \n",
		"trailing CR":          jwt + "\r",
	} {
		tok, err := fptapi.CleanToken(in)
		require.NoError(t, err, name)
		assert.Equal(t, jwt, tok, name)
	}
	for in, want := range map[string]string{
		"Bearer " + jwt:             `remove the prefix`,
		"bearer  " + jwt + "\n":     `remove the prefix`,
		"BEARER\t" + jwt:            `remove the prefix`,
		`"` + jwt + `"`:             "without quotes",
		`'` + jwt + `'` + "\r\n":    "without quotes",
		"\u201c" + jwt + "\u201d":   "without quotes",
		"\ufeff\"" + jwt + "\"\r\n": "without quotes",
		"Bearer":                    "", // a lone word is a (wrong) token, not a prefix: the API says so
	} {
		_, err := fptapi.CleanToken(in)
		if want == "" {
			require.NoError(t, err, "%q", in)
			continue
		}
		require.Error(t, err, "%q", in)
		assert.Contains(t, err.Error(), want, "%q", in)
		assert.NotContains(t, err.Error(), jwt, "the error never quotes the token")
	}
}

// FuzzCleanToken: a token that CleanToken accepts is the trimmed input, can
// be sent in an Authorization header, and is accepted by the client; so the
// exporter never starts with a token it could not send.
func FuzzCleanToken(f *testing.F) {
	for _, s := range []string{
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl\n", " token ", "", "\n\t", "a b", "a\x00b",
		"a\vb", "a\u00a0b", "a\u0085b", "\ufefftoken", "tök€n", "\xff\xfe", "a\x7fb", "a\r\nX-Injected: 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := fptapi.CleanToken(s)
		if err != nil {
			if tok != "" {
				t.Fatalf("CleanToken(%q) returned %q with an error", s, tok)
			}
			return
		}
		if tok == "" || tok != strings.TrimSpace(tok) || !strings.Contains(s, tok) {
			t.Fatalf("CleanToken(%q) = %q: want the non-empty trimmed input", s, tok)
		}
		if !httpguts.ValidHeaderFieldValue("Bearer " + tok) {
			t.Fatalf("CleanToken(%q) = %q cannot be sent in an Authorization header", s, tok)
		}
		if _, err := fptapi.NewClient(tok); err != nil {
			t.Fatalf("CleanToken(%q) = %q accepted, but the client refuses it: %v", s, tok, err)
		}
	})
}
