package fptapi

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds retries of transport errors and HTTP 429/500/502/503/504.
type RetryPolicy struct {
	MaxRetries int           // retries after the first attempt
	BaseDelay  time.Duration // first backoff; doubles each retry, with jitter
	MaxDelay   time.Duration // cap on one backoff; a longer Retry-After ends retrying
}

// backoff returns the wait before retry number retry+1: "full jitter"
// (uniform in [0, BaseDelay*2^retry], at most MaxDelay), so that many
// clients that failed together do not retry together; never shorter than
// the server's Retry-After, which call keeps within MaxDelay.
func (p RetryPolicy) backoff(retry int, retryAfter time.Duration) time.Duration {
	ceil := p.MaxDelay
	if retry < 32 { // beyond that the shift overflows, and MaxDelay rules anyway
		if d := p.BaseDelay << retry; d > 0 && d < ceil {
			ceil = d
		}
	}
	var d time.Duration
	if ceil > 0 {
		d = rand.N(ceil + 1)
	}
	return max(d, retryAfter)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// It returns 0 when the header is absent, malformed or in the past.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		// Capped at a year, which would overflow and ends retrying anyway.
		return time.Duration(min(max(secs, 0), 365*24*3600)) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
