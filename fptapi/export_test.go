package fptapi

import (
	"context"
	"time"
)

// WithSleep replaces the client's wait before a retry, so that a test
// asserts the backoff the client asks for instead of timing it.
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = f }
}

// Sleep is the client's own wait, for a test sleeper that wraps it.
var Sleep = sleep
