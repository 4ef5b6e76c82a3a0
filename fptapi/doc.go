// Package fptapi is a client for FPT Cloud's billing API (Console API
// "Get Bills by paging" and "Bill Info").
//
// It is defensive where the API is undocumented: requests are rate limited
// and retried with backoff (honouring Retry-After), paging stops only on an
// empty or short page and refuses to loop, responses are size-capped,
// numbers are decoded leniently but never as NaN or infinities, and errors
// are typed (APIError, DecodeError, ErrUnauthorized, ...) without ever
// quoting the token.
//
// Bills hands rows over page by page through a reused slice, so a caller
// can aggregate a day of any size without holding its rows.
package fptapi
