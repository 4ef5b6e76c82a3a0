package fptapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// ErrUnauthorized matches (errors.Is) an APIError for HTTP 401/403: the
// token is invalid or expired.
var ErrUnauthorized = errors.New("token invalid or expired")

// Paging and size errors. They are wrapped with the endpoint, day and page,
// so match them with errors.Is.
var (
	// ErrCursorRepeated: the API returned a paging cursor it had already
	// returned in the same query; following it would loop forever.
	ErrCursorRepeated = errors.New("paging cursor repeated")
	// ErrTooManyPages: the query needed more pages than WithMaxPages allows.
	ErrTooManyPages = errors.New("too many pages")
	// ErrMissingCursor: a full page came without a last_sort_value; asking
	// again with an empty cursor would restart from the first page.
	ErrMissingCursor = errors.New("full page without a paging cursor")
	// ErrResponseTooLarge: a response body exceeded WithMaxResponseBytes.
	ErrResponseTooLarge = errors.New("response too large")
)

// APIError is a non-2xx response, or a 2xx response whose body status is not success.
type APIError struct {
	Endpoint   string
	HTTPStatus int
	Status     string // the body's "status", as sent ("" when absent)
	Message    string // the body's "message", or a bounded excerpt of a non-JSON body
	URL        string // the URL requested, without credentials (the token is never in it)
}

func (e *APIError) Error() string {
	s := "fptapi: " + e.Endpoint + ": HTTP " + strconv.Itoa(e.HTTPStatus)
	if t := http.StatusText(e.HTTPStatus); t != "" {
		s += " " + t
	}
	if e.unauthorized() {
		s += ": " + ErrUnauthorized.Error()
	}
	if e.Status != "" {
		s += ": status " + strconv.Quote(e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	// A base URL without /api, or with /api/v1, lands here: say what was
	// asked for and what the base URL looks like.
	if (e.HTTPStatus == http.StatusNotFound || e.HTTPStatus == http.StatusMethodNotAllowed) && e.URL != "" {
		s += ": requested " + e.URL + "; is the API's base URL right? It has the form " + DefaultBaseURL
	}
	return s
}

// Is makes errors.Is(err, ErrUnauthorized) true for HTTP 401 and 403.
func (e *APIError) Is(target error) bool {
	return target == ErrUnauthorized && e.unauthorized()
}

func (e *APIError) unauthorized() bool {
	return e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden
}

// retryableStatus reports whether an HTTP status is worth another attempt:
// rate limiting and the 5xx codes that proxies and overloaded servers send.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// DecodeError is a response body that could not be decoded.
type DecodeError struct {
	Endpoint string
	Page     int // 1-based page of a bills query; 0 for endpoints without pages
	Err      error
}

func (e *DecodeError) Error() string {
	if e.Page > 0 {
		return fmt.Sprintf("fptapi: %s: decode page %d: %v", e.Endpoint, e.Page, e.Err)
	}
	return "fptapi: " + e.Endpoint + ": decode: " + e.Err.Error()
}

func (e *DecodeError) Unwrap() error { return e.Err }

// redact removes the token from text that came from the server (a body may
// echo the Authorization header back), so it cannot leak into an error.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[REDACTED]")
}

// redactedError flattens err into text without the token: parser errors
// quote pieces of the body, which could echo it.
func redactedError(err error, token string) error {
	if s := err.Error(); token != "" && strings.Contains(s, token) {
		return errors.New(redact(s, token))
	}
	return err
}

// maxMessageLen bounds a message taken from a response body.
const maxMessageLen = 512

// cleanMessage makes server text fit for an error string: valid UTF-8, one
// line, bounded, without HTML markup, and without the token.
func cleanMessage(s, token string) string {
	s = redact(s, token)
	if strings.Contains(s, "<") {
		s = stripHTML(s)
	}
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
	if len(s) > maxMessageLen {
		// The cut may split a rune: drop its bytes.
		s = strings.ToValidUTF8(s[:maxMessageLen], "") + "…"
	}
	// Redact again: joining fields or stripping tags may have rebuilt the token.
	return redact(s, token)
}

// stripHTML keeps an HTML page's <title> if it has one, else its text.
func stripHTML(s string) string {
	if i := strings.Index(strings.ToLower(s), "<title>"); i >= 0 {
		rest := s[i+len("<title>"):]
		if j := strings.Index(strings.ToLower(rest), "</title>"); j >= 0 {
			if t := strings.TrimSpace(rest[:j]); t != "" {
				return t
			}
		}
	}
	var b strings.Builder
	inTag := false
	for _, r := range s {
		switch {
		case r == '<':
			inTag = true
			b.WriteByte(' ')
		case r == '>':
			inTag = false
		case !inTag:
			b.WriteRune(r)
		}
	}
	return b.String()
}
