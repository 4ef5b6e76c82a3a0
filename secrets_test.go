package main

import (
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// FuzzCleanToken: a token that the start-up check accepts must be one the
// API client accepts and one that can be sent in an Authorization header;
// otherwise the exporter would start and then fail every refresh.
func FuzzCleanToken(f *testing.F) {
	for _, s := range []string{
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl\n", " token ", "", "\n\t", "a b", "a\x00b",
		"a\vb", "a\u00a0b", "a\u0085b", "\ufefftoken", "tök€n", "\xff\xfe", "a\x7fb", "a\r\nX-Injected: 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := cleanToken(s)
		if err != nil {
			if tok != "" {
				t.Fatalf("cleanToken(%q) returned %q with an error", s, tok)
			}
			return
		}
		if tok == "" || tok != strings.TrimSpace(tok) || !strings.Contains(s, tok) {
			t.Fatalf("cleanToken(%q) = %q: want the non-empty trimmed input", s, tok)
		}
		if !httpguts.ValidHeaderFieldValue("Bearer " + tok) {
			t.Fatalf("cleanToken(%q) = %q cannot be sent in an Authorization header", s, tok)
		}
		if _, err := fptapi.NewClient(tok); err != nil {
			t.Fatalf("cleanToken(%q) = %q accepted, but the API client refuses it: %v", s, tok, err)
		}
	})
}
