package fptapi_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
)

func TestNewClientValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token string
		opts  []fptapi.Option
		want  string // substring of the error; "" for success
	}{
		{name: "defaults", token: testToken},
		{name: "empty token", token: "  ", want: "token is empty"},
		{name: "token with newline", token: "abc\ndef", want: "white space"},
		{name: "token with NUL", token: "abc\x00def", want: "control characters"},
		{name: "token func without token", opts: []fptapi.Option{fptapi.WithTokenFunc(func() (string, error) { return testToken, nil })}},
		{name: "relative base URL", token: testToken, opts: []fptapi.Option{fptapi.WithBaseURL("/api")}, want: "base URL"},
		{name: "ftp base URL", token: testToken, opts: []fptapi.Option{fptapi.WithBaseURL("ftp://x/api")}, want: "base URL"},
		{name: "page size 0", token: testToken, opts: []fptapi.Option{fptapi.WithPageSize(0)}, want: "page size"},
		{name: "page size too big", token: testToken, opts: []fptapi.Option{fptapi.WithPageSize(fptapi.MaxPageSize + 1)}, want: "page size"},
		{name: "page size max", token: testToken, opts: []fptapi.Option{fptapi.WithPageSize(fptapi.MaxPageSize)}},
		{name: "page size 1000", token: testToken, opts: []fptapi.Option{fptapi.WithPageSize(1000)}},
		{name: "page size 1001", token: testToken, opts: []fptapi.Option{fptapi.WithPageSize(1001)}, want: "page size 1001: want 1..1000"},
		{name: "rate 0", token: testToken, opts: []fptapi.Option{fptapi.WithRateLimit(0, 1)}, want: "rate limit"},
		{name: "rate NaN", token: testToken, opts: []fptapi.Option{fptapi.WithRateLimit(math.NaN(), 1)}, want: "rate limit"},
		{name: "rate unlimited", token: testToken, opts: []fptapi.Option{fptapi.WithRateLimit(math.Inf(1), 1)}},
		{name: "burst 0", token: testToken, opts: []fptapi.Option{fptapi.WithRateLimit(1, 0)}, want: "burst"},
		{name: "negative retries", token: testToken, opts: []fptapi.Option{fptapi.WithRetryPolicy(fptapi.RetryPolicy{MaxRetries: -1})}, want: "retry policy"},
		{name: "max pages 0", token: testToken, opts: []fptapi.Option{fptapi.WithMaxPages(0)}, want: "max pages"},
		{name: "max bytes 0", token: testToken, opts: []fptapi.Option{fptapi.WithMaxResponseBytes(0)}, want: "max response bytes"},
		{name: "user agent with newline", token: testToken, opts: []fptapi.Option{fptapi.WithUserAgent("a\nb")}, want: "user agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := fptapi.NewClient(tt.token, tt.opts...)
			if tt.want == "" {
				require.NoError(t, err)
				require.NotNil(t, c)
				return
			}
			require.ErrorContains(t, err, tt.want)
			if strings.TrimSpace(tt.token) != "" {
				assert.NotContains(t, err.Error(), strings.TrimSpace(tt.token))
			}
		})
	}
}

func TestRequestShape(t *testing.T) {
	t.Parallel()
	s := newScript(t, response{body: pageBody(`[]`, row("a", 1))})
	c := newClient(t, s.URL(), fptapi.WithUserAgent("fptcloud_exporter/1.2.3"), fptapi.WithPageSize(50))
	hcm := time.FixedZone("ICT", 7*3600)
	// 2025-01-15 20:00 UTC is already the 16th in Vietnam: the day's own location decides.
	day := time.Date(2025, 1, 15, 20, 0, 0, 0, time.UTC).In(hcm)
	f := fptapi.Filter{ServiceType: "storage", BillingGroupName: "Nhóm A", BillingConfigName: "cfg"}
	require.NoError(t, c.Bills(context.Background(), day, f, func([]fptapi.Bill) error { return nil }))

	reqs := s.requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, http.MethodPost, r.Method)
	assert.Equal(t, "/api/v1/billing/bills", r.Path)
	assert.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"))
	assert.Equal(t, "application/json", r.Header.Get("Accept"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "fptcloud_exporter/1.2.3", r.Header.Get("User-Agent"))
	assert.Equal(t, map[string]any{
		"last_sort_value":     []any{},
		"size":                float64(50),
		"search_date":         "2025-01-16",
		"service_type":        "storage",
		"billing_group_name":  "Nhóm A",
		"billing_config_name": "cfg",
	}, r.Body)
}

func TestDefaultUserAgent(t *testing.T) {
	t.Parallel()
	s := newScript(t, response{body: `{"status":0,"data":[]}`})
	c := newClient(t, s.URL())
	_, err := c.BillInfo(context.Background())
	require.NoError(t, err)
	reqs := s.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, fptapi.DefaultUserAgent, reqs[0].Header.Get("User-Agent"))
	assert.Equal(t, http.MethodGet, reqs[0].Method)
	assert.Equal(t, "/api/v1/billing/bill/info", reqs[0].Path)
}

func TestTokenFunc(t *testing.T) {
	t.Parallel()
	s := newScript(t, response{body: `{"status":0,"data":[]}`})
	tokens := []string{"first-token-123", "second-token-456\n"}
	calls := 0
	c, err := fptapi.NewClient("", fptapi.WithBaseURL(s.URL()), fptapi.WithTokenFunc(func() (string, error) {
		tok := tokens[min(calls, len(tokens)-1)]
		calls++
		return tok, nil
	}))
	require.NoError(t, err)
	for range 2 {
		_, err := c.BillInfo(context.Background())
		require.NoError(t, err)
	}
	reqs := s.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "Bearer first-token-123", reqs[0].Header.Get("Authorization"))
	assert.Equal(t, "Bearer second-token-456", reqs[1].Header.Get("Authorization"), "the token is trimmed")

	boom := errors.New("token file unreadable")
	c, err = fptapi.NewClient("", fptapi.WithBaseURL(s.URL()), fptapi.WithTokenFunc(func() (string, error) { return "", boom }))
	require.NoError(t, err)
	_, err = c.BillInfo(context.Background())
	require.ErrorIs(t, err, boom)
	assert.Len(t, s.requests(), 2, "no request without a token")
}

func TestRateLimitWaitsWithContext(t *testing.T) {
	t.Parallel()
	s := newScript(t, response{body: `{"status":0,"data":[]}`})
	// One request per hour, burst 1: the second call must give up at once
	// on a deadline a minute off instead of waiting for it, and say why.
	c := newClient(t, s.URL(), fptapi.WithRateLimit(1.0/3600, 1))
	_, err := c.BillInfo(context.Background())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = c.BillInfo(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, ctx.Err(), "given up before the deadline, not at it")
	assert.Len(t, s.requests(), 1)
}

// TestMaxPageSizeMatchesTheFake: a size the fake would cap reads as a short
// page, which ends paging early; so MaxPageSize is the fake's cap, and a
// day of several pages at that size comes through whole.
func TestMaxPageSizeMatchesTheFake(t *testing.T) {
	t.Parallel()
	require.Equal(t, fptapitest.DefaultMaxPageSize, fptapi.MaxPageSize)
	srv := newFake(t, 2500)
	got, err := query(context.Background(), newClient(t, srv.URL, fptapi.WithPageSize(fptapi.MaxPageSize)), fptapi.Filter{})
	require.NoError(t, err)
	assert.Equal(t, 2500, got.rows)
	assert.Equal(t, 3, got.pages)
}
