package fptapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

const testToken = "tok-3f9a1c0d7e2b4a5f8c6d9e0a1b2c3d4e"

// fastRetry keeps retries real but their waits negligible.
var fastRetry = fptapi.RetryPolicy{MaxRetries: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}

// patientRetry is for tests whose attempts fail by a real timeout: the
// attempt meant to pass has many chances on a loaded machine.
var patientRetry = fptapi.RetryPolicy{MaxRetries: 20, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}

// sleeper stands in for the client's wait before a retry: it records the
// wait asked for and returns at once, so that a test asserts the backoff
// instead of timing it.
type sleeper struct {
	mu    sync.Mutex
	asked []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, d)
	return ctx.Err()
}

// cancelling returns a wait that records d and then waits for real, as the
// client does, while cancel is called: whether the cancel lands before or
// during the wait, the wait must end.
func (s *sleeper) cancelling(cancel context.CancelFunc) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		s.mu.Lock()
		s.asked = append(s.asked, d)
		s.mu.Unlock()
		go cancel()
		return fptapi.Sleep(ctx, d)
	}
}

func (s *sleeper) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.asked...)
}

// newClient returns a client for base with test-friendly defaults; opts override them.
func newClient(t testing.TB, base string, opts ...fptapi.Option) *fptapi.Client {
	t.Helper()
	all := append([]fptapi.Option{
		fptapi.WithBaseURL(base),
		fptapi.WithRateLimit(math.Inf(1), 1),
		fptapi.WithRetryPolicy(fastRetry),
	}, opts...)
	c, err := fptapi.NewClient(testToken, all...)
	require.NoError(t, err)
	return c
}

// recorded is one request a scripted server saw.
type recorded struct {
	Method, Path string
	Header       http.Header
	Body         map[string]any
}

// script is a tiny API double: the n-th request (0-based) gets responses[n]
// (the last one repeats). Tests that need the full fake use fptapitest.
type script struct {
	mu   sync.Mutex
	reqs []recorded
	srv  *httptest.Server
}

type response struct {
	code    int
	header  map[string]string
	body    string
	handler http.HandlerFunc // overrides code/body when set
}

func newScript(t testing.TB, responses ...response) *script {
	t.Helper()
	s := &script{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		rec := recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()}
		if len(raw) > 0 {
			_ = json.Unmarshal(raw, &rec.Body)
		}
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, rec)
		s.mu.Unlock()
		resp := responses[min(n, len(responses)-1)]
		if resp.handler != nil {
			resp.handler(w, r)
			return
		}
		for k, v := range resp.header {
			w.Header().Set(k, v)
		}
		code := resp.code
		if code == 0 {
			code = http.StatusOK
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, resp.body)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *script) URL() string { return s.srv.URL + "/api" }

func (s *script) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

// row renders a bill row with the given name and total_price.
func row(name string, price float64) string {
	return fmt.Sprintf(`{"vpc_id":"v1","vpc_name":"VPC 1","service":"instance","name":%q,"total_price":%v}`, name, price)
}

// rows renders n rows named prefix0..prefixN-1 with price 1 each.
func rows(prefix string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = row(fmt.Sprintf("%s%d", prefix, i), 1)
	}
	return strings.Join(parts, ",")
}

// pageBody renders a bills response.
func pageBody(cursor string, data string) string {
	return fmt.Sprintf(`{"status":0,"message":"ok","count":0,"last_sort_value":%s,"data":[%s]}`, cursor, data)
}

// collect pages through day with c and returns the row names.
func collect(ctx context.Context, t testing.TB, c *fptapi.Client) ([]string, error) {
	t.Helper()
	var names []string
	err := c.Bills(ctx, testDay, fptapi.Filter{}, func(p []fptapi.Bill) error {
		require.NotEmpty(t, p, "fn must not be called with an empty page")
		for _, b := range p {
			names = append(names, b.Name)
		}
		return nil
	})
	return names, err
}

var testDay = time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)

// observed records what an Observer saw.
type observed struct {
	mu    sync.Mutex
	infos []fptapi.RequestInfo
}

func (o *observed) observe(ri fptapi.RequestInfo) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.infos = append(o.infos, ri)
}

func (o *observed) codes() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]string, len(o.infos))
	for i, ri := range o.infos {
		out[i] = ri.Code
	}
	return out
}
