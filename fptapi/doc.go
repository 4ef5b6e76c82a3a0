// Package fptapi is a client for FPT Cloud's billing API (Console API
// "Get Bills by paging" and "Bill Info"). It is defensive where the API is
// undocumented: requests are rate limited and retried with backoff
// (honouring Retry-After), paging refuses to loop, responses are
// size-capped, numbers are decoded leniently but never as NaN or
// infinities, and errors are typed without ever quoting the token.
package fptapi
