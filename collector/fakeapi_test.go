package collector

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// fakeEnv is a Refresher on the real client against the fake API, both on
// the same injected clock.
type fakeEnv struct {
	*testEnv
	srv *fptapitest.Server
}

func newFakeEnv(t testing.TB, now time.Time, fcfg fptapitest.Config, edit func(*Config), opts ...fptapi.Option) *fakeEnv {
	t.Helper()
	clock := &fakeClock{t: now}
	fcfg.Location, fcfg.Now = testhelp.HCM(t), clock.Now
	srv := fptapitest.NewServer(fcfg)
	t.Cleanup(srv.Close)
	reqs := NewAPIRequestCounter()
	opts = append([]fptapi.Option{
		fptapi.WithBaseURL(srv.URL),
		fptapi.WithObserver(reqs.Observe),
		fptapi.WithRateLimit(1e6, 1000), // the fake needs no protection
		fptapi.WithRetryPolicy(fptapi.RetryPolicy{MaxRetries: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}),
	}, opts...)
	client, err := fptapi.NewClient(fptapitest.DefaultToken, opts...)
	require.NoError(t, err)
	e := newEnv(t, client, now, func(c *Config) {
		c.Now = clock.Now
		if edit != nil {
			edit(c)
		}
	})
	e.clock = clock
	e.reqs = reqs
	e.c = New(e.r, reqs)
	return &fakeEnv{testEnv: e, srv: srv}
}

func TestFakeAPIKnownDataset(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	e := newFakeEnv(t, time.Date(2026, 11, 3, 10, 0, 0, 0, loc), fptapitest.Config{}, nil, fptapi.WithPageSize(2))
	for day, rows := range knownDataset() {
		e.srv.SetBills(day, rows)
	}
	require.NoError(t, e.r.Refresh(context.Background()))
	requests := e.srv.Requests(fptapi.EndpointBills)
	require.Positive(t, requests)

	want, names := expo(t, map[string][]string{
		"fptcloud_billing_cost_vnd":               {lblA + " 150.25", lblB + " 10", lblD + " 0"},
		"fptcloud_billing_month_to_date_cost_vnd": {lblA + " 2650.75", lblB + " 210", lblC + " 50", lblD + " 0"},
		"fptcloud_billing_disk_bytes":             {lblA + " 5.36870912e+10", lblB + " 1.073741824e+11", lblD + " 0"},
		"fptcloud_exporter_last_refresh_rows":     {" 4"},
		"fptcloud_exporter_api_requests_total":    {`{code="200",endpoint="bills"} ` + strconv.Itoa(requests)},
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))

	// Ten scrapes add no API request.
	for range 10 {
		_, err := testutil.CollectAndFormat(e.c, expfmt.TypeTextPlain)
		require.NoError(t, err)
	}
	assert.Equal(t, requests, e.srv.Requests(fptapi.EndpointBills))

	// The next refresh reads only today: the closed days are final.
	require.NoError(t, e.r.Refresh(context.Background()))
	assert.Equal(t, 3, e.srv.Requests(fptapi.EndpointBills)-requests, "today's 4 rows in pages of 2: 2 full pages and an empty one")
}

// TestFakeAPIFaults: whatever the API does wrong on any page, the last good
// snapshot stays served, nothing partial shows, the failure is reported,
// and the next refresh after the API heals publishes.
func TestFakeAPIFaults(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	tests := []struct {
		name          string
		fault         fptapitest.Fault
		tokenRejected string
		logged        string
	}{
		{"401 on page 1", fptapitest.Fault{Page: 1, Code: http.StatusUnauthorized}, " 1", "401"},
		{"403 on page 2", fptapitest.Fault{Page: 2, Code: http.StatusForbidden}, " 1", "403"},
		{"503 on page 2, every retry", fptapitest.Fault{Page: 2, Code: http.StatusServiceUnavailable, Message: "bảo trì"}, " 0", "503"},
		{"400 on page 3", fptapitest.Fault{Page: 3, Code: http.StatusBadRequest, Message: "bad search_date"}, " 0", "bad search_date"},
		{"status 1 in a 200 body", fptapitest.Fault{Page: 2, Status: 1, Message: "internal"}, " 0", "internal"},
		{"truncated JSON on page 2", fptapitest.Fault{Page: 2, Truncate: true}, " 0", "page 2"},
		{"HTML error page", fptapitest.Fault{Page: 2, Code: http.StatusBadGateway, HTML: true}, " 0", "502"},
		{"repeating cursor", fptapitest.Fault{Page: 2, RepeatCursor: true}, " 0", "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, loc)
			e := newFakeEnv(t, t0, fptapitest.Config{}, nil, fptapi.WithPageSize(2))
			for day, rows := range knownDataset() {
				e.srv.SetBills(day, rows)
			}
			require.NoError(t, e.r.Refresh(context.Background()))

			e.srv.SetBills("2026-11-03", []fptapi.Bill{row(setA, 1), row(setA, 2), row(setA, 3), row(setB, 4), row(setC, 5)})
			e.srv.InjectFault(tt.fault)
			e.clock.Set(t0.Add(15 * time.Minute))
			require.Error(t, e.r.Refresh(context.Background()))

			want, names := expo(t, map[string][]string{
				"fptcloud_billing_cost_vnd":                        {lblA + " 150.25", lblB + " 10", lblD + " 0"},
				"fptcloud_exporter_refresh_success":                {" 0"},
				"fptcloud_exporter_refresh_failures_total":         {" 1"},
				"fptcloud_exporter_token_rejected":                 {tt.tokenRejected},
				"fptcloud_exporter_last_success_timestamp_seconds": {" " + strconv.FormatInt(t0.Unix(), 10)},
			})
			require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
			logs := e.logs.String()
			assert.Contains(t, logs, `msg="refresh failed"`)
			assert.Contains(t, logs, tt.logged)
			assert.NotContains(t, logs, fptapitest.DefaultToken)

			e.srv.ClearFaults()
			require.NoError(t, e.r.Refresh(context.Background()))
			want, names = expo(t, map[string][]string{
				"fptcloud_billing_cost_vnd":         {lblA + " 6", lblB + " 4", lblC + " 5"},
				"fptcloud_exporter_refresh_success": {" 1"},
				"fptcloud_exporter_token_rejected":  {" 0"},
			})
			require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
		})
	}
}

// TestFakeAPIRetried: a transient 503 retried by the client is no failure.
func TestFakeAPIRetried(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t, time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t)), fptapitest.Config{}, nil, fptapi.WithPageSize(2))
	for day, rows := range knownDataset() {
		e.srv.SetBills(day, rows)
	}
	e.srv.InjectFault(fptapitest.Fault{Page: 2, Times: 1, Code: http.StatusServiceUnavailable, RetryAfter: "0"})
	require.NoError(t, e.r.Refresh(context.Background()))
	want, names := expo(t, map[string][]string{
		"fptcloud_billing_cost_vnd":         {lblA + " 150.25", lblB + " 10", lblD + " 0"},
		"fptcloud_exporter_refresh_success": {" 1"},
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
	n, err := testutil.GatherAndCount(mustRegistry(t, e.c), "fptcloud_exporter_api_requests_total")
	require.NoError(t, err)
	assert.Equal(t, 2, n, "codes 200 and 503 counted apart")
}

// TestFakeAPIGenerated runs a generated month (the demo's data) and checks
// that the exposition sums to what the fake generated.
func TestFakeAPIGenerated(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	e := newFakeEnv(t, time.Date(2026, 11, 15, 12, 0, 0, 0, loc), fptapitest.Config{RowsPerDay: 500, LabelSets: 60, Seed: 7}, nil)
	require.NoError(t, e.r.Refresh(context.Background()))

	var today, mtd float64
	for d := 1; d <= 15; d++ {
		day := time.Date(2026, 11, d, 0, 0, 0, 0, loc).Format(time.DateOnly)
		require.NoError(t, e.srv.EachBill(day, fptapi.Filter{}, func(b *fptapi.Bill) bool {
			mtd += b.TotalPrice
			if d == 15 {
				today += b.TotalPrice
			}
			return true
		}))
	}
	require.Positive(t, today)
	got := sumSamples(t, e.c, "fptcloud_billing_cost_vnd")
	assert.InEpsilon(t, today, got, 1e-9)
	assert.InEpsilon(t, mtd, sumSamples(t, e.c, "fptcloud_billing_month_to_date_cost_vnd"), 1e-9)
}

func mustRegistry(t testing.TB, c prometheus.Collector) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	return reg
}

// sumSamples adds up the values of one gauge family.
func sumSamples(t testing.TB, c prometheus.Collector, name string) float64 {
	t.Helper()
	mfs, err := mustRegistry(t, c).Gather()
	require.NoError(t, err)
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}
