package fptapitest

// Request accounting: every request that reaches an endpoint is counted and
// recorded, whatever the fake then answers, and its token checked.

import (
	"io"
	"net/http"
	"strings"
)

// Request is what the fake saw of a request (see LastRequest).
type Request struct {
	Method string
	Header http.Header
	Body   []byte
}

// Requests returns how many requests reached endpoint ("bills" or
// "bill_info"), including rejected and faulted ones.
func (s *Server) Requests(endpoint string) int {
	if n, ok := s.requests[endpoint]; ok {
		return int(n.Load())
	}
	return 0
}

// ResetRequests sets the request counters back to zero.
func (s *Server) ResetRequests() {
	for _, n := range s.requests {
		n.Store(0)
	}
}

// LastRequest returns the last request that reached endpoint.
func (s *Server) LastRequest(endpoint string) (r Request, ok bool) {
	s.locked(func() { r, ok = s.last[endpoint] })
	return r, ok
}

const maxRequestBody = 1 << 20

// receive counts and records a request to endpoint and returns its body,
// false when it has been answered 405 for not using method.
func (s *Server) receive(w http.ResponseWriter, r *http.Request, endpoint, method string) ([]byte, bool) {
	s.requests[endpoint].Add(1)
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	req := Request{Method: r.Method, Header: r.Header.Clone(), Body: append([]byte(nil), body...)}
	s.locked(func() { s.last[endpoint] = req })
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return nil, false
	}
	return body, true
}

// authorized checks the bearer token, answering 401 when it is wrong.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	token := s.token
	s.mu.Unlock()
	// The scheme is case-insensitive (RFC 9110); the token is not.
	h := r.Header.Get("Authorization")
	const scheme = "Bearer "
	if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) && h[len(scheme):] == token {
		return true
	}
	writeError(w, http.StatusUnauthorized, "unauthorized: invalid or expired token")
	return false
}
