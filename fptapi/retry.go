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

// Defaults of DefaultRetryPolicy.
const (
	DefaultMaxRetries = 4
	DefaultBaseDelay  = time.Second
	DefaultMaxDelay   = 30 * time.Second
)

// DefaultRetryPolicy is the policy of a client without WithRetryPolicy:
// up to 4 retries, from about 1s, each wait at most 30s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: DefaultMaxRetries, BaseDelay: DefaultBaseDelay, MaxDelay: DefaultMaxDelay}
}

// backoff returns the wait before retry number retry+1: "full jitter"
// (uniform in [0, BaseDelay*2^retry], at most MaxDelay), so that many
// clients that failed together do not retry together; never shorter than
// the server's Retry-After. The caller does not retry at all when
// Retry-After exceeds MaxDelay (see waitsFor), so the result stays within
// MaxDelay.
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

// waitsFor reports whether the policy may wait as long as a Retry-After
// asks. Retrying sooner than the server asked would most likely fail again
// and spend the retries for nothing, so a longer Retry-After ends retrying.
func (p RetryPolicy) waitsFor(retryAfter time.Duration) bool {
	return retryAfter <= p.MaxDelay
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// It returns 0 when the header is absent, malformed or in the past.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(365*24*time.Hour/time.Second) { // absurd, and would overflow; it ends retrying anyway
			secs = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
