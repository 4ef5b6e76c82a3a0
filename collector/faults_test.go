package collector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// The fault matrix runs the real client against the fake API, with policies
// short enough that no case sleeps through real backoff.
const (
	// faultToken is distinctive so that a leak is found by a plain search;
	// several faults make the fake echo it back in its message.
	faultToken = "tok-FAULT-7c1e9a2b5d"
	// faultDay is the 1st of the month: a refresh reads today only, so
	// page N of a fault is page N of the one query of the refresh.
	faultDay      = "2026-11-01"
	faultPageSize = 2
	// faultHTTPTimeout is the client's timeout for every request but the
	// faulted refresh of the "timeout" case: long enough that a healthy
	// page stalled by a loaded machine (or -race) is never retried, which
	// would break the exact request counts.
	faultHTTPTimeout = 10 * time.Second
	// faultShortTimeout is the client's timeout for the refresh that meets
	// the "timeout" fault, whose Delay is well above it.
	faultShortTimeout = 200 * time.Millisecond
	faultMaxRetries   = 2
	faultMaxBody      = 4 << 10
)

// faultRows is today's data: 7 rows over the label sets A, B, C, D, A, B, C,
// so that pages of 2 are 2, 2, 2, 1 rows and any prefix of the pages sums
// differently from the whole day.
func faultRows(scale float64) []fptapi.Bill {
	sets := []fptapi.Bill{setA, setB, setC, setD}
	rows := make([]fptapi.Bill, 7)
	for i := range rows {
		rows[i] = usageRow(sets[i%len(sets)], scale*float64(i+1), float64(i+1), 2, 10, 1, 2, 10)
	}
	return rows
}

// costBySet sums total_price per label set, keyed like billingValues.
func costBySet(rows []fptapi.Bill) map[string]float64 {
	out := make(map[string]float64)
	for _, b := range rows {
		k := fmt.Sprintf("fptcloud_billing_cost_vnd{billing_group=%q,service=%q,tag=%q,vpc_id=%q,vpc_name=%q}",
			b.BillingGroupName, b.Service, b.Tag, b.VPCID, b.VPCName)
		out[k] += b.TotalPrice
	}
	return out
}

type faultEnv struct {
	srv   *fptapitest.Server
	clock *fakeClock
	logs  *testhelp.SyncBuffer
	r     *Refresher
	reg   *prometheus.Registry
	httpc *http.Client
}

// refreshWithTimeout runs one refresh with the client's timeout set to
// timeout, then restores faultHTTPTimeout. Refresh returns only when its
// requests are done, so the field is never read while it is written.
func (e *faultEnv) refreshWithTimeout(ctx context.Context, timeout time.Duration) error {
	e.httpc.Timeout = timeout
	defer func() { e.httpc.Timeout = faultHTTPTimeout }()
	return e.r.Refresh(ctx)
}

func newFaultEnv(t *testing.T, edit func(*Config)) *faultEnv {
	t.Helper()
	loc := testhelp.HCM(t)
	clock := &fakeClock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, loc)}
	srv := fptapitest.NewServer(fptapitest.Config{Token: faultToken, Location: loc, Now: clock.Now})
	t.Cleanup(srv.Close)
	reqs := NewAPIRequestCounter()
	httpc := &http.Client{Timeout: faultHTTPTimeout}
	client, err := fptapi.NewClient(faultToken,
		fptapi.WithBaseURL(srv.URL),
		fptapi.WithHTTPClient(httpc),
		fptapi.WithObserver(reqs.Observe),
		fptapi.WithRateLimit(1e6, 1000),
		fptapi.WithRetryPolicy(fptapi.RetryPolicy{MaxRetries: faultMaxRetries, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}),
		fptapi.WithPageSize(faultPageSize),
		fptapi.WithMaxResponseBytes(faultMaxBody),
	)
	require.NoError(t, err)
	logs := &testhelp.SyncBuffer{}
	cfg := Config{
		Source:          client,
		Location:        loc,
		RefreshInterval: 15 * time.Minute,
		MaxAge:          time.Hour,
		Now:             clock.Now,
		Logger:          log.NewLogfmtLogger(logs),
	}
	if edit != nil {
		edit(&cfg)
	}
	r, err := NewRefresher(cfg)
	require.NoError(t, err)
	return &faultEnv{srv: srv, clock: clock, logs: logs, r: r, reg: mustRegistry(t, New(r, reqs)), httpc: httpc}
}

// billingValues gathers the billing series (the eight per-label-set
// metrics) as "name{labels}" -> value.
func (e *faultEnv) billingValues(t *testing.T) map[string]float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	require.NoError(t, err)
	out := make(map[string]float64)
	for _, mf := range mfs {
		if mf.GetName() == "" || len(mf.GetMetric()) == 0 || len(mf.GetMetric()[0].GetLabel()) != len(billingLabels) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var lbl []string
			for _, lp := range m.GetLabel() {
				lbl = append(lbl, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			out[mf.GetName()+"{"+strings.Join(lbl, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

// value returns the value of an unlabelled self-metric, or -1 when absent.
func (e *faultEnv) value(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	return -1
}

// costs keeps the cost series of billingValues.
func costs(all map[string]float64) map[string]float64 {
	out := make(map[string]float64)
	for k, v := range all {
		if strings.HasPrefix(k, "fptcloud_billing_cost_vnd{") {
			out[k] = v
		}
	}
	return out
}

// loudLines returns the log lines at warn or error level.
func loudLines(logs string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level=warn") || strings.Contains(l, "level=error") {
			out = append(out, l)
		}
	}
	return out
}

type faultCase struct {
	name  string
	fault fptapitest.Fault // Page is set per run
	// retryable faults are retried by the client: MaxRetries+1 attempts.
	retryable     bool
	tokenRejected bool
	httpStatus    int      // when set, the error is an *APIError with this code
	decode        bool     // the error is a *DecodeError naming the page
	is            []error  // the error matches one of these
	logged        []string // in the one warn/error line of the failed refresh
}

// timeout is the client's timeout for the refresh that meets the fault:
// short only where the fault is a delay meant to outlast it.
func (tc faultCase) timeout() time.Duration {
	if tc.fault.Delay > 0 {
		return faultShortTimeout
	}
	return faultHTTPTimeout
}

func faultCases() []faultCase {
	return []faultCase{
		{name: "401", fault: fptapitest.Fault{Code: http.StatusUnauthorized, Message: "token " + faultToken + " expired"},
			tokenRejected: true, httpStatus: 401, is: []error{fptapi.ErrUnauthorized}, logged: []string{"HTTP 401", "token invalid or expired"}},
		{name: "403", fault: fptapitest.Fault{Code: http.StatusForbidden, Message: "Bearer " + faultToken + " lacks billing permission"},
			tokenRejected: true, httpStatus: 403, is: []error{fptapi.ErrUnauthorized}, logged: []string{"HTTP 403", "lacks billing permission"}},
		{name: "404", fault: fptapitest.Fault{Code: http.StatusNotFound}, httpStatus: 404, logged: []string{"HTTP 404"}},
		{name: "429", fault: fptapitest.Fault{Code: http.StatusTooManyRequests}, retryable: true, httpStatus: 429,
			logged: []string{"HTTP 429", "gave up after 2 retries"}},
		// A Retry-After the client can honour (here 0, or a date already
		// past) is retried like any 429/503; one longer than the policy's
		// MaxDelay (5ms here) ends retrying at once: a retry sooner than
		// the server asked would be wasted (fptapi.RetryPolicy).
		{name: "429 Retry-After 0", fault: fptapitest.Fault{Code: http.StatusTooManyRequests, RetryAfter: "0"}, retryable: true,
			httpStatus: 429, logged: []string{"HTTP 429", "gave up after 2 retries"}},
		{name: "429 Retry-After 30s", fault: fptapitest.Fault{Code: http.StatusTooManyRequests, RetryAfter: "30"},
			httpStatus: 429, logged: []string{"HTTP 429", "no retry", "30s"}},
		{name: "503 Retry-After past date", fault: fptapitest.Fault{Code: http.StatusServiceUnavailable,
			RetryAfter: time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)}, retryable: true, httpStatus: 503,
			logged: []string{"HTTP 503", "gave up after 2 retries"}},
		{name: "503 Retry-After date in 1h", fault: fptapitest.Fault{Code: http.StatusServiceUnavailable,
			RetryAfter: time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, httpStatus: 503, logged: []string{"HTTP 503", "no retry"}},
		{name: "500", fault: fptapitest.Fault{Code: http.StatusInternalServerError, Message: "lỗi máy chủ"}, retryable: true,
			httpStatus: 500, logged: []string{"HTTP 500", "lỗi máy chủ"}},
		{name: "502", fault: fptapitest.Fault{Code: http.StatusBadGateway}, retryable: true, httpStatus: 502, logged: []string{"HTTP 502"}},
		{name: "503", fault: fptapitest.Fault{Code: http.StatusServiceUnavailable, Message: "bảo trì"}, retryable: true,
			httpStatus: 503, logged: []string{"HTTP 503", "bảo trì"}},
		{name: "504", fault: fptapitest.Fault{Code: http.StatusGatewayTimeout}, retryable: true, httpStatus: 504, logged: []string{"HTTP 504"}},
		{name: "connection reset", fault: fptapitest.Fault{Reset: true}, retryable: true, logged: []string{"bills", "gave up after 2 retries"}},
		{name: "timeout", fault: fptapitest.Fault{Delay: 5 * faultShortTimeout}, retryable: true,
			logged: []string{"Client.Timeout exceeded", "gave up after 2 retries"}},
		{name: "truncated JSON", fault: fptapitest.Fault{Truncate: true}, decode: true, logged: []string{"decode page"}},
		{name: "HTML error page 502", fault: fptapitest.Fault{Code: http.StatusBadGateway, HTML: true}, retryable: true,
			httpStatus: 502, logged: []string{"HTTP 502", "502 Bad Gateway"}},
		{name: "HTML page with 200", fault: fptapitest.Fault{HTML: true, Message: "Cổng đăng nhập"}, decode: true, logged: []string{"decode page"}},
		{name: "status 1", fault: fptapitest.Fault{Status: 1, Message: "Hệ thống bận, token " + faultToken}, httpStatus: 200,
			logged: []string{`status \"1\"`, "Hệ thống bận"}},
		{name: "status false", fault: fptapitest.Fault{Status: false, Message: "denied"}, httpStatus: 200, logged: []string{`status \"false\"`, "denied"}},
		// On page 1 the fake echoes the empty cursor of the request: a full
		// page without a cursor; on later pages the previous page's cursor.
		{name: "repeating cursor", fault: fptapitest.Fault{RepeatCursor: true},
			is: []error{fptapi.ErrCursorRepeated, fptapi.ErrMissingCursor}, logged: []string{"cursor"}},
		{name: "body over the size cap", fault: fptapitest.Fault{Oversize: 4 * faultMaxBody},
			is: []error{fptapi.ErrResponseTooLarge}, logged: []string{"response too large"}},
		{name: "error body over the size cap", fault: fptapitest.Fault{Code: http.StatusServiceUnavailable, Oversize: 64 * faultMaxBody},
			retryable: true, httpStatus: 503, logged: []string{"HTTP 503"}},
	}
}

// TestFaultMatrix: whatever the API does wrong, on the first page or a later
// one, the last good snapshot stays served, nothing partial is published,
// the failure shows in the self-metrics and in one log line without the
// token, and the next refresh after the API heals publishes the new data.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	for _, tc := range faultCases() {
		for _, page := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/page %d", tc.name, page), func(t *testing.T) {
				ctx := context.Background()
				e := newFaultEnv(t, nil)
				old, fresh := faultRows(1), faultRows(100)
				e.srv.SetBills(faultDay, old)
				require.NoError(t, e.r.Refresh(ctx))
				before := e.billingValues(t)
				require.Equal(t, costBySet(old), costs(before))
				lastSuccess := e.value(t, "fptcloud_exporter_last_success_timestamp_seconds")

				// The API now has new data and fails on one page.
				e.srv.SetBills(faultDay, fresh)
				f := tc.fault
				f.Page = page
				e.srv.InjectFault(f)
				e.clock.Add(time.Minute)
				mark := len(e.logs.String())
				reqs := e.srv.Requests(fptapi.EndpointBills)
				err := e.refreshWithTimeout(ctx, tc.timeout())

				require.Error(t, err)
				// The attempts below are the test's retry policy's, whose
				// backoffs are milliseconds: how long they take is
				// fptapi's to test, not a bound on this machine's speed.
				attempts := 1
				if tc.retryable {
					attempts = faultMaxRetries + 1
				}
				assert.Equal(t, page-1+attempts, e.srv.Requests(fptapi.EndpointBills)-reqs, "requests: the pages before the fault, then the attempts at it")
				checkFaultError(t, tc, page, err)

				// Nothing partial: the old snapshot, value for value.
				assert.Equal(t, before, e.billingValues(t), "the last good snapshot stays served")
				assert.Equal(t, 0.0, e.value(t, "fptcloud_exporter_refresh_success"))
				assert.Equal(t, 1.0, e.value(t, "fptcloud_exporter_refresh_failures_total"))
				assert.Equal(t, boolFloat(tc.tokenRejected), e.value(t, "fptcloud_exporter_token_rejected"))
				assert.Equal(t, lastSuccess, e.value(t, "fptcloud_exporter_last_success_timestamp_seconds"), "a failure does not advance the last success")

				// One clear line, without the token.
				loud := loudLines(e.logs.String()[mark:])
				require.Len(t, loud, 1, "one warn/error line per failed refresh:\n%s", e.logs.String()[mark:])
				assert.Contains(t, loud[0], `msg="refresh failed"`)
				assert.Contains(t, loud[0], fmt.Sprintf("page %d", page))
				for _, s := range tc.logged {
					assert.Contains(t, loud[0], s)
				}
				if tc.tokenRejected {
					assert.Contains(t, loud[0], "level=error", "a rejected token needs a human")
				}

				// The API heals: the next refresh publishes the new data.
				e.srv.ClearFaults()
				e.clock.Add(time.Minute)
				require.NoError(t, e.r.Refresh(ctx))
				assert.Equal(t, costBySet(fresh), costs(e.billingValues(t)))
				assert.Equal(t, 1.0, e.value(t, "fptcloud_exporter_refresh_success"))
				assert.Equal(t, 0.0, e.value(t, "fptcloud_exporter_token_rejected"))
				assert.Equal(t, 1.0, e.value(t, "fptcloud_exporter_refresh_failures_total"), "a counter")
				assert.Greater(t, e.value(t, "fptcloud_exporter_last_success_timestamp_seconds"), lastSuccess)
				assert.NotContains(t, e.logs.String(), faultToken)
			})
		}
	}
}

func checkFaultError(t *testing.T, tc faultCase, page int, err error) {
	t.Helper()
	assert.NotContains(t, err.Error(), faultToken)
	if tc.httpStatus != 0 {
		var apiErr *fptapi.APIError
		if assert.ErrorAs(t, err, &apiErr) {
			assert.Equal(t, tc.httpStatus, apiErr.HTTPStatus)
			assert.Equal(t, fptapi.EndpointBills, apiErr.Endpoint)
		}
	}
	if tc.decode {
		var decErr *fptapi.DecodeError
		if assert.ErrorAs(t, err, &decErr) {
			assert.Equal(t, page, decErr.Page)
		}
	}
	if tc.is != nil {
		assert.True(t, slices.ContainsFunc(tc.is, func(target error) bool { return errors.Is(err, target) }),
			"%v is none of %v", err, tc.is)
	}
	assert.Equal(t, tc.tokenRejected, errors.Is(err, fptapi.ErrUnauthorized))
}

// TestFaultRetryHeals: a retryable fault that happens once is retried by the
// client and costs no failed refresh, on any page.
func TestFaultRetryHeals(t *testing.T) {
	t.Parallel()
	for _, tc := range faultCases() {
		if !tc.retryable {
			continue
		}
		for _, page := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/page %d", tc.name, page), func(t *testing.T) {
				e := newFaultEnv(t, nil)
				rows := faultRows(1)
				e.srv.SetBills(faultDay, rows)
				f := tc.fault
				f.Page, f.Times = page, 1
				e.srv.InjectFault(f)
				require.NoError(t, e.refreshWithTimeout(context.Background(), tc.timeout()))
				// 4 pages of 2, 2, 2 and 1 rows, and one retry.
				assert.Equal(t, 5, e.srv.Requests(fptapi.EndpointBills))
				assert.Equal(t, costBySet(rows), costs(e.billingValues(t)))
				assert.Equal(t, 1.0, e.value(t, "fptcloud_exporter_refresh_success"))
				assert.Equal(t, 0.0, e.value(t, "fptcloud_exporter_refresh_failures_total"))
				assert.Empty(t, loudLines(e.logs.String()))
			})
		}
	}
}

// TestFaultRefreshLoopRecoversOnItsOwn: the background loop keeps running
// through failures, keeps serving the old snapshot, and publishes again on
// its own once the API heals, with no call from the test.
func TestFaultRefreshLoopRecoversOnItsOwn(t *testing.T) {
	t.Parallel()
	e := newFaultEnv(t, func(c *Config) { c.RefreshInterval = 5 * time.Millisecond })
	old, fresh := faultRows(1), faultRows(100)
	e.srv.SetBills(faultDay, old)
	require.NoError(t, e.r.Refresh(context.Background()))
	before := e.billingValues(t)

	e.srv.SetBills(faultDay, fresh)
	e.srv.InjectFault(fptapitest.Fault{Page: 3, Code: http.StatusServiceUnavailable})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	require.Eventually(t, func() bool { return e.value(t, "fptcloud_exporter_refresh_failures_total") >= 3 },
		patience(t), 5*time.Millisecond, "the loop goes on failing")
	assert.Equal(t, before, e.billingValues(t))
	assert.Equal(t, 0.0, e.value(t, "fptcloud_exporter_refresh_success"))

	e.srv.ClearFaults()
	require.Eventually(t, func() bool { return e.value(t, "fptcloud_exporter_refresh_success") == 1 },
		patience(t), 5*time.Millisecond, "the loop recovers when the API heals")
	assert.Equal(t, costBySet(fresh), costs(e.billingValues(t)))
	assert.NotContains(t, e.logs.String(), faultToken)
}

// TestEmptyDataAnswers: "data": null or [] with status 0 is an empty page.
// On page 1 of a day not seen with rows it is an empty day, served as such;
// on the page after the last it ends the day; for a day already seen with
// rows it is a failure that keeps the last good data.
func TestEmptyDataAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rows := faultRows(1)[:6] // three full pages of 2: the 4th is the page after the last
	t.Run("null on page 1 of a new day", func(t *testing.T) {
		e := newFaultEnv(t, nil)
		e.srv.InjectFault(fptapitest.Fault{NullData: true, Page: 1})
		require.NoError(t, e.r.Refresh(ctx))
		assert.Empty(t, costs(e.billingValues(t)))
		assert.Equal(t, 1.0, e.value(t, "fptcloud_exporter_refresh_success"))
		assert.True(t, e.r.Ready())
	})
	t.Run("[] on page 1 of a new day", func(t *testing.T) {
		e := newFaultEnv(t, nil)
		e.srv.SetBills(faultDay, []fptapi.Bill{})
		require.NoError(t, e.r.Refresh(ctx))
		assert.Empty(t, costs(e.billingValues(t)))
		assert.Equal(t, 1.0, e.value(t, "fptcloud_exporter_refresh_success"))
	})
	t.Run("null on the page after the last", func(t *testing.T) {
		e := newFaultEnv(t, nil)
		e.srv.SetBills(faultDay, rows)
		e.srv.InjectFault(fptapitest.Fault{NullData: true, Page: 4})
		require.NoError(t, e.r.Refresh(ctx))
		assert.Equal(t, costBySet(rows), costs(e.billingValues(t)))
	})
	for name, empty := range map[string]func(e *faultEnv){
		"null": func(e *faultEnv) { e.srv.InjectFault(fptapitest.Fault{NullData: true, Page: 1}) },
		"[]":   func(e *faultEnv) { e.srv.SetBills(faultDay, []fptapi.Bill{}) },
	} {
		t.Run(name+" for a day seen with rows", func(t *testing.T) {
			e := newFaultEnv(t, nil)
			e.srv.SetBills(faultDay, rows)
			require.NoError(t, e.r.Refresh(ctx))
			before := e.billingValues(t)
			empty(e)
			e.clock.Add(time.Minute)
			require.ErrorIs(t, e.r.Refresh(ctx), errEmptyAgain)
			assert.Equal(t, before, e.billingValues(t), "the last good data stays served")
			assert.Equal(t, 0.0, e.value(t, "fptcloud_exporter_refresh_success"))
		})
	}
}
