package fptapi_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// hangUp closes the connection without a response: a transport error.
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// TestRetryAfter checks that Retry-After is honoured without sleeping
// through it: the client asks its sleeper for the wait the server asked
// for; a wait that would pass the context's deadline fails at once, and so
// does a Retry-After longer than MaxDelay (retrying sooner than the server
// asked would only spend the retries). "At once" is that nothing was slept
// and the deadline, a minute off, has not passed.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	const (
		retried  = iota // the retry succeeds
		deadline        // no retry: the wait would pass the deadline
		tooLong         // no retry: Retry-After is over MaxDelay
	)
	tests := []struct {
		name       string
		retryAfter string
		maxDelay   time.Duration
		want       int
		wantText   string
		wantWait   time.Duration // retried: the wait asked for; 0 for the jittered backoff, at most BaseDelay
	}{
		{name: "seconds", retryAfter: "90", maxDelay: time.Hour, want: deadline},
		{name: "seconds within the deadline", retryAfter: "1", maxDelay: time.Hour, want: retried, wantWait: time.Second},
		{name: "HTTP date", retryAfter: time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), maxDelay: 2 * time.Hour, want: deadline},
		{name: "seconds over MaxDelay", retryAfter: "120", maxDelay: 30 * time.Second, want: tooLong,
			wantText: "HTTP 429 Too Many Requests (no retry: server asked to retry after 2m0s, more than the 30s this client waits)"},
		{name: "HTTP date over MaxDelay", retryAfter: time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), maxDelay: time.Minute, want: tooLong,
			wantText: "more than the 1m0s this client waits"},
		{name: "one second over a tiny MaxDelay", retryAfter: "1", maxDelay: time.Millisecond, want: tooLong,
			wantText: "server asked to retry after 1s, more than the 1ms this client waits"},
		{name: "seconds equal to MaxDelay", retryAfter: "1", maxDelay: time.Second, want: retried, wantWait: time.Second},
		{name: "zero", retryAfter: "0", maxDelay: time.Millisecond, want: retried},
		{name: "zero with MaxDelay zero", retryAfter: "0", maxDelay: 0, want: retried},
		{name: "one second over MaxDelay zero", retryAfter: "1", maxDelay: 0, want: tooLong,
			wantText: "server asked to retry after 1s, more than the 0s this client waits"},
		{name: "date in the past", retryAfter: time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), maxDelay: time.Hour, want: retried},
		{name: "garbage", retryAfter: "soon", maxDelay: time.Hour, want: retried},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newScript(t,
				response{code: 429, header: map[string]string{"Retry-After": tt.retryAfter}},
				response{body: pageBody(`[]`, "")})
			var sl sleeper
			c := newClient(t, s.URL(),
				fptapi.WithRetryPolicy(fptapi.RetryPolicy{MaxRetries: 2, BaseDelay: time.Millisecond, MaxDelay: tt.maxDelay}),
				fptapi.WithSleep(sl.sleep))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := collect(ctx, t, c)
			if tt.want == retried {
				require.NoError(t, err)
				assert.Len(t, s.requests(), 2)
				waits := sl.waits()
				require.Len(t, waits, 1)
				if tt.wantWait > 0 {
					assert.Equal(t, tt.wantWait, waits[0], "the wait the server asked for")
				} else {
					assert.LessOrEqual(t, waits[0], time.Millisecond, "the backoff, within BaseDelay")
				}
				return
			}
			require.Error(t, err)
			var apiErr *fptapi.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, 429, apiErr.HTTPStatus)
			assert.Len(t, s.requests(), 1)
			assert.Empty(t, sl.waits(), "no wait at all")
			require.NoError(t, ctx.Err(), "the client gave up before the deadline")
			if tt.want == deadline {
				require.ErrorIs(t, err, context.DeadlineExceeded)
				return
			}
			require.NotErrorIs(t, err, context.DeadlineExceeded)
			require.ErrorContains(t, err, tt.wantText)
			assert.NotContains(t, err.Error(), "gave up after", "no retry was made")
		})
	}
}

// TestCancelDuringBackoff: cancelling the context ends the client's own
// wait before a retry, an hour here. Were the wait deaf to the context,
// the test would fail after testhelp.Patience.
func TestCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	s := newScript(t, response{code: 503, header: map[string]string{"Retry-After": "3600"}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sl sleeper
	c := newClient(t, s.URL(),
		fptapi.WithRetryPolicy(fptapi.RetryPolicy{MaxRetries: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}),
		fptapi.WithSleep(sl.cancelling(cancel)))
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		err = c.Bills(ctx, testDay, fptapi.Filter{}, func([]fptapi.Bill) error { return nil })
	}()
	testhelp.Await(t, done, "the cancelled backoff to end")
	require.ErrorIs(t, err, context.Canceled)
	var apiErr *fptapi.APIError
	require.ErrorAs(t, err, &apiErr, "the last API error is kept")
	assert.Contains(t, err.Error(), "while waiting to retry")
	assert.Equal(t, []time.Duration{time.Hour}, sl.waits())
	assert.Len(t, s.requests(), 1)
}

// TestCancelAfterAttempt: a context cancelled during a failed attempt is
// not waited on at all.
func TestCancelAfterAttempt(t *testing.T) {
	t.Parallel()
	s := newScript(t, response{code: 503, header: map[string]string{"Retry-After": "3600"}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sl sleeper
	c := newClient(t, s.URL(),
		fptapi.WithRetryPolicy(fptapi.RetryPolicy{MaxRetries: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}),
		fptapi.WithSleep(sl.sleep),
		fptapi.WithObserver(func(fptapi.RequestInfo) { cancel() }))
	_, err := collect(ctx, t, c)
	require.ErrorIs(t, err, context.Canceled)
	var apiErr *fptapi.APIError
	require.ErrorAs(t, err, &apiErr, "the last API error is kept")
	assert.Empty(t, sl.waits())
	assert.Len(t, s.requests(), 1)
}

func TestCancelDuringRequest(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	s := newScript(t, response{handler: func(_ http.ResponseWriter, r *http.Request) {
		cancel()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}})
	var obs observed
	c := newClient(t, s.URL(), fptapi.WithObserver(obs.observe))
	_, err := collect(ctx, t, c)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, []string{"canceled"}, obs.codes(), "not retried")
}

// TestPerRequestTimeoutRetried: an attempt cut off by the HTTP client's
// Timeout is retried. The timeout is real, so the answer that follows has
// as many chances to beat it as a loaded machine may need.
func TestPerRequestTimeoutRetried(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	slow := response{handler: func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}}
	s := newScript(t, slow, response{body: pageBody(`[]`, "")})
	var obs observed
	c := newClient(t, s.URL(), fptapi.WithObserver(obs.observe), fptapi.WithRetryPolicy(patientRetry),
		fptapi.WithHTTPClient(&http.Client{Timeout: 200 * time.Millisecond}))
	_, err := collect(context.Background(), t, c)
	require.NoError(t, err)
	codes := obs.codes() // a loaded machine may time out more than once
	require.GreaterOrEqual(t, len(codes), 2)
	assert.Equal(t, "timeout", codes[0])
	assert.Equal(t, "200", codes[len(codes)-1])
}

func TestBodyCutOffRetried(t *testing.T) {
	t.Parallel()
	// Promise more than is sent, then hang up: the body read fails.
	cut := response{handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(1000))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"status":0,"data":[`))
		w.(http.Flusher).Flush()
		hangUp(w, r)
	}}
	s := newScript(t, cut, response{body: pageBody(`[]`, row("a", 1))})
	var obs observed
	c := newClient(t, s.URL(), fptapi.WithObserver(obs.observe))
	names, err := collect(context.Background(), t, c)
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, names)
	assert.Equal(t, []string{"transport", "200"}, obs.codes())
}

func TestNoRetriesPolicy(t *testing.T) {
	t.Parallel()
	s := newScript(t, response{code: 503})
	c := newClient(t, s.URL(), fptapi.WithRetryPolicy(fptapi.RetryPolicy{}))
	_, err := collect(context.Background(), t, c)
	var apiErr *fptapi.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 503, apiErr.HTTPStatus)
	assert.Len(t, s.requests(), 1)
}
