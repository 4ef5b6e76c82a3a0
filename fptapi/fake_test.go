package fptapi_test

import (
	"context"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// Tests against the fake API: paging, retries and errors end to end.

const fakeDay = "2025-01-15"

func newFake(t testing.TB, rowsPerDay int) *fptapitest.Server {
	t.Helper()
	srv := fptapitest.NewServer(fptapitest.Config{
		Token:      testToken,
		RowsPerDay: rowsPerDay,
		Seed:       7,
		Location:   time.UTC,
		Now:        func() time.Time { return time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC) },
	})
	t.Cleanup(srv.Close)
	return srv
}

// sums is what a query adds up: rows, pages and total price.
type sums struct {
	rows, pages int
	price       float64
}

func query(ctx context.Context, c *fptapi.Client, f fptapi.Filter) (sums, error) {
	var s sums
	err := c.Bills(ctx, testDay, f, func(p []fptapi.Bill) error {
		s.pages++
		s.rows += len(p)
		for i := range p {
			s.price += p[i].TotalPrice
		}
		return nil
	})
	return s, err
}

// expected is what the fake says a query must return.
func expected(t *testing.T, srv *fptapitest.Server, f fptapi.Filter) sums {
	t.Helper()
	var s sums
	require.NoError(t, srv.EachBill(fakeDay, f, func(b *fptapi.Bill) bool {
		s.rows++
		s.price += b.TotalPrice
		return true
	}))
	return s
}

func TestFakePagingTermination(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		rows      int
		pageSize  int
		filter    fptapi.Filter
		empty     bool // SetBills(day, nil)
		wantPages int
		wantReqs  int
	}{
		{name: "rows not a multiple of size: stops on the short page", rows: 250, pageSize: 100, wantPages: 3, wantReqs: 3},
		{name: "rows a multiple of size: stops on the empty page", rows: 300, pageSize: 100, wantPages: 3, wantReqs: 4},
		{name: "one page", rows: 40, pageSize: 100, wantPages: 1, wantReqs: 1},
		{name: "page size 1", rows: 5, pageSize: 1, wantPages: 5, wantReqs: 6},
		{name: "empty day", rows: 100, pageSize: 100, empty: true, wantPages: 0, wantReqs: 1},
		{name: "filtered by service", rows: 700, pageSize: 30, filter: fptapi.Filter{ServiceType: "storage"}, wantPages: 4, wantReqs: 4},
		{name: "filter matching nothing", rows: 100, pageSize: 10, filter: fptapi.Filter{ServiceType: "no-such-service"}, wantPages: 0, wantReqs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, tt.rows)
			if tt.empty {
				srv.SetBills(fakeDay, nil)
			}
			c := newClient(t, srv.URL, fptapi.WithPageSize(tt.pageSize))
			got, err := query(context.Background(), c, tt.filter)
			require.NoError(t, err)
			want := expected(t, srv, tt.filter)
			assert.Equal(t, want.rows, got.rows)
			assert.InDelta(t, want.price, got.price, 1e-6*math.Max(1, want.price))
			assert.Equal(t, tt.wantPages, got.pages)
			assert.Equal(t, tt.wantReqs, srv.Requests(fptapi.EndpointBills))
		})
	}
}

func TestFakeFaults(t *testing.T) {
	t.Parallel()
	const rows, size = 250, 100 // three pages
	var none error
	tests := []struct {
		name      string
		fault     fptapitest.Fault
		policy    *fptapi.RetryPolicy
		wantErr   error  // errors.Is target; none for success
		wantAs    string // "api" or "decode" for errors.As checks
		wantHTTP  int
		wantPage  int      // DecodeError page
		wantText  []string // substrings of the error
		wantReqs  int
		wantCodes []string
	}{
		{name: "429 twice then fine", fault: fptapitest.Fault{Page: 2, Times: 2, Code: 429}, wantErr: none, wantReqs: 5,
			wantCodes: []string{"200", "429", "429", "200", "200"}},
		{name: "500 once", fault: fptapitest.Fault{Page: 1, Times: 1, Code: 500}, wantErr: none, wantReqs: 4},
		{name: "502 HTML page once", fault: fptapitest.Fault{Page: 3, Times: 1, Code: 502, HTML: true}, wantErr: none, wantReqs: 4},
		{name: "503 with Retry-After 0", fault: fptapitest.Fault{Page: 1, Times: 1, Code: 503, RetryAfter: "0"}, wantErr: none, wantReqs: 4},
		{name: "504 once", fault: fptapitest.Fault{Page: 2, Times: 1, Code: 504}, wantErr: none, wantReqs: 4},
		{name: "connection reset once", fault: fptapitest.Fault{Page: 2, Times: 1, Reset: true}, wantErr: none, wantReqs: 4,
			wantCodes: []string{"200", "transport", "200", "200"}},
		{name: "503 until retries run out", fault: fptapitest.Fault{Page: 2, Code: 503}, wantAs: "api", wantHTTP: 503,
			wantText: []string{"HTTP 503", "gave up after 3 retries", "page 2"}, wantReqs: 5},
		{name: "502 HTML until retries run out", fault: fptapitest.Fault{Page: 1, Code: 502, HTML: true}, wantAs: "api", wantHTTP: 502,
			wantText: []string{"502 Bad Gateway"}, wantReqs: 4},
		{name: "400 not retried", fault: fptapitest.Fault{Page: 2, Code: 400}, wantAs: "api", wantHTTP: 400, wantReqs: 2},
		{name: "401 not retried", fault: fptapitest.Fault{Page: 1, Code: 401}, wantErr: fptapi.ErrUnauthorized, wantAs: "api", wantHTTP: 401,
			wantText: []string{"token invalid or expired"}, wantReqs: 1, wantCodes: []string{"401"}},
		{name: "403 not retried", fault: fptapitest.Fault{Page: 1, Code: 403}, wantErr: fptapi.ErrUnauthorized, wantAs: "api", wantHTTP: 403, wantReqs: 1},
		{name: "404 not retried", fault: fptapitest.Fault{Page: 3, Code: 404}, wantAs: "api", wantHTTP: 404, wantReqs: 3},
		{name: "status 1 in a 200", fault: fptapitest.Fault{Page: 2, Status: 1, Message: "Hệ thống bận"}, wantAs: "api", wantHTTP: 200,
			wantText: []string{`status "1"`, "Hệ thống bận", "page 2"}, wantReqs: 2},
		{name: "status false in a 200", fault: fptapitest.Fault{Page: 1, Status: false, Message: "denied"}, wantAs: "api", wantHTTP: 200,
			wantText: []string{`status "false"`, "denied"}, wantReqs: 1},
		{name: "truncated JSON", fault: fptapitest.Fault{Page: 2, Truncate: true}, wantAs: "decode", wantPage: 2,
			wantText: []string{"bills", "decode page 2"}, wantReqs: 2},
		{name: "repeated cursor", fault: fptapitest.Fault{Page: 2, RepeatCursor: true}, wantErr: fptapi.ErrCursorRepeated, wantReqs: 2},
		{name: "empty cursor on a full first page", fault: fptapitest.Fault{Page: 1, RepeatCursor: true}, wantErr: fptapi.ErrMissingCursor, wantReqs: 1},
		{name: "429 asking for more than MaxDelay not retried", fault: fptapitest.Fault{Page: 2, Code: 429, RetryAfter: "120"}, wantAs: "api", wantHTTP: 429,
			wantText: []string{"server asked to retry after 2m0s, more than the 2ms this client waits", "page 2"}, wantReqs: 2},
		{name: "oversize body", fault: fptapitest.Fault{Page: 2, Oversize: 1 << 20}, wantErr: fptapi.ErrResponseTooLarge, wantReqs: 2},
		{name: "numbers as strings", fault: fptapitest.Fault{NumbersAsStrings: true}, wantErr: none, wantReqs: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, rows)
			srv.InjectFault(tt.fault)
			var obs observed
			c := newClient(t, srv.URL, fptapi.WithPageSize(size), fptapi.WithObserver(obs.observe),
				fptapi.WithMaxResponseBytes(512<<10))
			got, err := query(context.Background(), c, fptapi.Filter{})
			assert.Equal(t, tt.wantReqs, srv.Requests(fptapi.EndpointBills), "requests")
			if tt.wantCodes != nil {
				assert.Equal(t, tt.wantCodes, obs.codes())
			}
			retry := 0
			for i, ri := range obs.infos { // the observer numbers retries per page
				if i > 0 && obs.infos[i-1].Code == "200" {
					retry = 0
				}
				assert.Equal(t, retry, ri.Retry, "attempt %d", i)
				assert.Equal(t, fptapi.EndpointBills, ri.Endpoint)
				retry++
			}
			if tt.wantErr == nil && tt.wantAs == "" {
				require.NoError(t, err)
				want := expected(t, srv, fptapi.Filter{})
				assert.Equal(t, want.rows, got.rows)
				assert.InDelta(t, want.price, got.price, 1e-6*want.price)
				return
			}
			require.Error(t, err)
			assert.NotContains(t, err.Error(), testToken)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			switch tt.wantAs {
			case "api":
				var apiErr *fptapi.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, fptapi.EndpointBills, apiErr.Endpoint)
				assert.Equal(t, tt.wantHTTP, apiErr.HTTPStatus)
			case "decode":
				var decErr *fptapi.DecodeError
				require.ErrorAs(t, err, &decErr)
				assert.Equal(t, fptapi.EndpointBills, decErr.Endpoint)
				assert.Equal(t, tt.wantPage, decErr.Page)
			}
			for _, s := range tt.wantText {
				assert.Contains(t, err.Error(), s)
			}
		})
	}
}

func TestFakeNullNumbers(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 120)
	srv.InjectFault(fptapitest.Fault{NullNumbers: true})
	got, err := query(context.Background(), newClient(t, srv.URL), fptapi.Filter{})
	require.NoError(t, err)
	assert.Equal(t, 120, got.rows)
	assert.Zero(t, got.price, "null numbers decode as 0")
}

func TestFakeMaxPages(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 100)
	c := newClient(t, srv.URL, fptapi.WithPageSize(10), fptapi.WithMaxPages(5))
	got, err := query(context.Background(), c, fptapi.Filter{})
	require.ErrorIs(t, err, fptapi.ErrTooManyPages)
	assert.Equal(t, 50, got.rows)
	assert.Equal(t, 5, srv.Requests(fptapi.EndpointBills))
}

func TestFakeWrongTokenAndRotation(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 10)
	srv.SetToken("the-new-token-0001")
	var obs observed
	current := testToken
	c, err := fptapi.NewClient("", fptapi.WithBaseURL(srv.URL), fptapi.WithRetryPolicy(fastRetry),
		fptapi.WithRateLimit(math.Inf(1), 1), fptapi.WithObserver(obs.observe),
		fptapi.WithTokenFunc(func() (string, error) { return current, nil }))
	require.NoError(t, err)

	_, err = query(context.Background(), c, fptapi.Filter{})
	require.ErrorIs(t, err, fptapi.ErrUnauthorized)
	assert.Contains(t, err.Error(), "token invalid or expired")
	assert.NotContains(t, err.Error(), testToken)
	assert.Equal(t, []string{"401"}, obs.codes(), "a rejected token is not retried")

	current = "the-new-token-0001" // the token file was rotated
	got, err := query(context.Background(), c, fptapi.Filter{})
	require.NoError(t, err)
	assert.Equal(t, 10, got.rows)
}

// TestFakeRetryAfterPastDeadlineFailsFast: a Retry-After beyond the
// context's deadline ends the call at once: nothing slept, and the
// deadline, a minute off, not reached.
func TestFakeRetryAfterPastDeadlineFailsFast(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 10)
	srv.InjectFault(fptapitest.Fault{Code: 429, RetryAfter: "120"})
	var sl sleeper
	c := newClient(t, srv.URL, fptapi.WithSleep(sl.sleep),
		fptapi.WithRetryPolicy(fptapi.RetryPolicy{MaxRetries: 5, BaseDelay: time.Millisecond, MaxDelay: time.Hour}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := query(ctx, c, fptapi.Filter{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var apiErr *fptapi.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusTooManyRequests, apiErr.HTTPStatus)
	require.NoError(t, ctx.Err(), "given up before the deadline, not at it")
	assert.Empty(t, sl.waits())
	assert.Equal(t, 1, srv.Requests(fptapi.EndpointBills))
}

// TestFakeCancelDuringBackoff: cancelling ends the hour's wait that a 503
// with Retry-After asked for; a wait deaf to the context would fail the
// test after testhelp.Patience.
func TestFakeCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 10)
	srv.InjectFault(fptapitest.Fault{Code: 503, RetryAfter: "3600"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sl sleeper
	c := newClient(t, srv.URL,
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
	assert.Equal(t, []time.Duration{time.Hour}, sl.waits())
	assert.Equal(t, 1, srv.Requests(fptapi.EndpointBills))
}

func TestFakeSlowResponseTimesOut(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 10)
	srv.InjectFault(fptapitest.Fault{Page: 1, Times: 1, Delay: time.Minute})
	var obs observed
	c := newClient(t, srv.URL, fptapi.WithObserver(obs.observe), fptapi.WithRetryPolicy(patientRetry),
		fptapi.WithHTTPClient(&http.Client{Timeout: 200 * time.Millisecond}))
	got, err := query(context.Background(), c, fptapi.Filter{})
	require.NoError(t, err)
	assert.Equal(t, 10, got.rows)
	codes := obs.codes() // a loaded machine may time out more than once
	require.GreaterOrEqual(t, len(codes), 2)
	assert.Equal(t, "timeout", codes[0])
	assert.Equal(t, "200", codes[len(codes)-1])
}

// TestFakeNullData: "data": null from the fake is an empty page, on page
// 1 (a day without rows) and later (the end of the day).
func TestFakeNullData(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		page, wantRows, wantPages int
	}{
		{page: 1, wantRows: 0, wantPages: 0},
		{page: 2, wantRows: 100, wantPages: 1},
		{page: 3, wantRows: 200, wantPages: 2},
	} {
		srv := newFake(t, 250)
		srv.InjectFault(fptapitest.Fault{Page: tc.page, NullData: true})
		got, err := query(context.Background(), newClient(t, srv.URL, fptapi.WithPageSize(100)), fptapi.Filter{})
		require.NoError(t, err, "null on page %d", tc.page)
		assert.Equal(t, tc.wantRows, got.rows, "null on page %d", tc.page)
		assert.Equal(t, tc.wantPages, got.pages, "null on page %d: fn is called for non-empty pages only", tc.page)
		assert.Equal(t, tc.page, srv.Requests(fptapi.EndpointBills))
	}
}

func TestFakeBillInfo(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 10)
	c := newClient(t, srv.URL)
	got, err := c.BillInfo(context.Background())
	require.NoError(t, err)
	assert.Equal(t, srv.BillingGroups(), got)

	srv.InjectFault(fptapitest.Fault{Endpoint: fptapi.EndpointBillInfo, Code: 503, Times: 1})
	var obs observed
	c = newClient(t, srv.URL, fptapi.WithObserver(obs.observe))
	_, err = c.BillInfo(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"503", "200"}, obs.codes())
	for _, ri := range obs.infos {
		assert.Equal(t, fptapi.EndpointBillInfo, ri.Endpoint)
	}

	srv.InjectFault(fptapitest.Fault{Endpoint: fptapi.EndpointBillInfo, Truncate: true})
	_, err = c.BillInfo(context.Background())
	var decErr *fptapi.DecodeError
	require.ErrorAs(t, err, &decErr)
	assert.Equal(t, fptapi.EndpointBillInfo, decErr.Endpoint)
	assert.True(t, strings.HasPrefix(err.Error(), "fptapi: bill_info: decode"), err.Error())
	assert.NotErrorIs(t, err, fptapi.ErrUnauthorized)
}

// TestNilHTTPClientIsTheDefault: WithHTTPClient(nil) leaves the client
// with its default HTTP client rather than one that panics on use.
func TestNilHTTPClientIsTheDefault(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 10)
	c := newClient(t, srv.URL, fptapi.WithHTTPClient(nil))
	got, err := query(context.Background(), c, fptapi.Filter{})
	require.NoError(t, err)
	assert.Equal(t, 10, got.rows)
}
