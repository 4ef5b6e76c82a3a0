package collector

// The collector at scale, with exact counts rather than timings: a large day
// paged from the fake through the real client, API requests per refresh,
// scrapes that add no request, scrapes that never copy the snapshot, and
// the cardinality guard on thousands of label sets. The figures themselves
// (rows per second, peak heap, scrape cost) are benchmarks: bench_test.go.

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// sums are one label set's expected values, added in the fake's paging
// order starting from zero, as the aggregator adds them: float64 sums in
// the same order are bit for bit the same, so they are compared exactly.
// Money is the exception: costExact is the exact sum of the amounts, and
// cost that sum as published, rounded to a millionth of a dong.
type sums struct {
	costExact                                      *big.Rat
	cost, vcpu, ram, disk, cpuQty, ramQty, diskQty float64
}

// publishedVND is an exact sum of amounts as the exporter publishes it:
// rounded to six decimals, then the nearest float64.
func publishedVND(t testing.TB, exact *big.Rat) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(exact.FloatString(6), 64)
	require.NoError(t, err)
	return v
}

// fakeSums reads a day from the fake (EachBill, not HTTP) and sums it per
// label set; total is every row's total_price, summed in row order.
func fakeSums(t testing.TB, srv *fptapitest.Server, day string) (perSet map[billing.Labels]*sums, total float64, rows int) {
	t.Helper()
	perSet = make(map[billing.Labels]*sums)
	require.NoError(t, srv.EachBill(day, fptapi.Filter{}, func(b *fptapi.Bill) bool {
		k := keyOf(b)
		s := perSet[k]
		if s == nil {
			s = &sums{costExact: new(big.Rat)}
			perSet[k] = s
		}
		s.costExact.Add(s.costExact, new(big.Rat).SetFloat64(b.TotalPrice))
		s.vcpu += b.VCPU
		s.ram += b.RAM
		s.disk += b.Disk
		s.cpuQty += b.CPUQuantity
		s.ramQty += b.RAMQuantity
		s.diskQty += b.DiskQuantity
		total += b.TotalPrice
		rows++
		return true
	}))
	for _, s := range perSet {
		s.cost = publishedVND(t, s.costExact)
	}
	return perSet, total, rows
}

// seriesKey identifies a billing series by its five label values.
func seriesKey(k billing.Labels) string {
	return strings.Join([]string{k.BillingGroup, k.Service, k.Tag, k.VPCID, k.VPCName}, "\xff")
}

// gatherBilling returns every billing family of c's exposition as label
// values -> value, through a pedantic registry.
func gatherBilling(t testing.TB, c prometheus.Collector) map[string]map[string]float64 {
	t.Helper()
	mfs, err := mustRegistry(t, c).Gather()
	require.NoError(t, err)
	out := make(map[string]map[string]float64)
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "fptcloud_billing_") || len(mf.GetMetric()[0].GetLabel()) == 0 {
			continue // the calendar gauges have no labels
		}
		m := make(map[string]float64, len(mf.GetMetric()))
		for _, s := range mf.GetMetric() {
			vals := make([]string, 0, 5)
			for _, lp := range s.GetLabel() {
				vals = append(vals, lp.GetValue()) // sorted by name, as seriesKey
			}
			m[strings.Join(vals, "\xff")] = s.GetGauge().GetValue()
		}
		out[mf.GetName()] = m
	}
	return out
}

// wantToday turns a day's sums into the expected today families.
func wantToday(perSet map[billing.Labels]*sums) map[string]map[string]float64 {
	out := make(map[string]map[string]float64)
	put := func(name string, k billing.Labels, v float64) {
		if out[name] == nil {
			out[name] = make(map[string]float64)
		}
		out[name][seriesKey(k)] = v
	}
	for k, s := range perSet {
		put("fptcloud_billing_cost_vnd", k, s.cost)
		put("fptcloud_billing_vcpus", k, s.vcpu)
		put("fptcloud_billing_ram_bytes", k, s.ram*giB)
		put("fptcloud_billing_disk_bytes", k, s.disk*giB)
		put("fptcloud_billing_cpu_quantity", k, s.cpuQty)
		put("fptcloud_billing_ram_quantity", k, s.ramQty)
		put("fptcloud_billing_disk_quantity", k, s.diskQty)
	}
	return out
}

// requireSameSeries compares two families value by value, exactly, and
// names the first few differences instead of printing thousands of series.
func requireSameSeries(t *testing.T, name string, want, got map[string]float64) {
	t.Helper()
	var diffs []string
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			diffs = append(diffs, fmt.Sprintf("%q: want %v, got %v (present %v)", k, w, g, ok))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q: unexpected", k))
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("%s: %d of %d series differ, e.g. %s", name, len(diffs), len(want), strings.Join(diffs[:min(len(diffs), 3)], "; "))
	}
}

// TestScaleLargeDay pages a day of 100,000 rows in 5,000 label sets from
// the fake through the real client and the refresher (under -race a fifth
// of it: the same paths, in reasonable time). Every series equals the
// fake's own sums exactly; the request count is the minimum; the heap stays
// far below what holding the rows would take. A million rows show the same
// (BenchmarkRefreshAPI) at ten times the time.
func TestScaleLargeDay(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 rows take a few seconds")
	}
	rows, sets, size := 100_000, 5000, 1000
	if testhelp.RaceEnabled {
		rows = 20_000
	}
	const day = "2026-11-01"
	// The last second of the 1st: today is the whole month so far, and
	// the fake's today is (almost) complete.
	now := time.Date(2026, 11, 1, 23, 59, 59, 0, testhelp.HCM(t))
	hs := newHeapSampler()
	e := newFakeEnv(t, now, fptapitest.Config{RowsPerDay: rows, LabelSets: sets, Seed: 42}, func(c *Config) {
		c.Source = hs.wrap(c.Source)
	}, fptapi.WithPageSize(size))

	require.NoError(t, e.r.Refresh(context.Background()))
	requests := rows/size + 1 // full pages, and the empty page that ends the day
	assert.Equal(t, requests, e.srv.Requests(fptapi.EndpointBills))
	// The heap is measured during the second refresh, which builds its
	// snapshot while the first is still served, as in a running exporter.
	runtime.GC()
	hs.start(time.Millisecond)
	require.NoError(t, e.r.Refresh(context.Background()))
	peak := hs.stop()

	st := e.r.state.Load()
	assert.Equal(t, rows, st.rows)
	assert.Equal(t, rows/size, st.pages, "non-empty pages")
	assert.Equal(t, 2*requests, e.srv.Requests(fptapi.EndpointBills))
	assert.Equal(t, sets, st.snap.labelSets)
	assert.Zero(t, st.snap.folded)

	perSet, total, n := fakeSums(t, e.srv, day)
	require.Equal(t, rows, n)
	require.Len(t, perSet, sets)
	got := gatherBilling(t, e.c)
	want := wantToday(perSet)
	mtd := make(map[string]float64, len(perSet))
	for k, s := range perSet {
		mtd[seriesKey(k)] = s.cost // the 1st: month-to-date is today
	}
	want["fptcloud_billing_month_to_date_cost_vnd"] = mtd
	require.Len(t, got, len(want))
	for name, w := range want {
		requireSameSeries(t, name, w, got[name])
	}
	var sum float64
	for _, v := range got["fptcloud_billing_cost_vnd"] {
		sum += v
	}
	assert.InEpsilon(t, total, sum, 1e-9, "the day's total, summed in another order")

	// Holding the day's rows as fptapi.Bill values alone would take
	// rows x 392 bytes (374 MiB for a million).
	t.Logf("%d rows, %d requests per refresh, peak heap %.1f MiB (live after GC %.1f MiB, %d samples)",
		rows, requests, float64(peak.objects)/(1<<20), float64(peak.live)/(1<<20), peak.samples)
	if !testhelp.RaceEnabled {
		assert.Less(t, peak.objects, uint64(64<<20), "peak heap during the refresh")
	}
}

// apiRequests is what the exporter itself counted of successful bills
// requests (fptcloud_exporter_api_requests_total{endpoint="bills",code="200"}).
func apiRequests(t testing.TB, e *fakeEnv) int {
	t.Helper()
	want := `fptcloud_exporter_api_requests_total{code="200",endpoint="bills"} `
	out, err := testutil.CollectAndFormat(e.c, expfmt.TypeTextPlain, "fptcloud_exporter_api_requests_total")
	require.NoError(t, err)
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, want); ok {
			var n int
			_, err := fmt.Sscan(v, &n)
			require.NoError(t, err)
			return n
		}
	}
	return 0
}

// TestRequestsPerRefreshToday: a refresh of today reads the minimal number
// of pages. The client stops on an empty page or a page shorter than the
// page size, so a day of r rows in pages of p costs floor(r/p)+1 requests:
// ceil(r/p), plus one empty page when r is an exact multiple of p (or 0).
func TestRequestsPerRefreshToday(t *testing.T) {
	t.Parallel()
	const size = 100
	for _, rows := range []int{0, 1, 99, 100, 101, 250, 1000, 1001} {
		t.Run(fmt.Sprintf("rows=%d", rows), func(t *testing.T) {
			now := time.Date(2026, 11, 1, 12, 0, 0, 0, testhelp.HCM(t)) // the 1st: no closed day
			e := newFakeEnv(t, now, fptapitest.Config{RowsPerDay: max(rows, 1), LabelSets: 10}, nil, fptapi.WithPageSize(size))
			if rows == 0 {
				e.srv.SetBills("2026-11-01", nil)
			}
			want := (rows + size - 1) / size // ceil
			if rows%size == 0 {
				want++ // the empty page that says the day is over
			}
			for i := 1; i <= 3; i++ {
				require.NoError(t, e.r.Refresh(context.Background()))
				assert.Equal(t, i*want, e.srv.Requests(fptapi.EndpointBills), "refresh %d", i)
				assert.Equal(t, i*want, apiRequests(t, e), "the exporter's own count, refresh %d", i)
				assert.Equal(t, (rows+size-1)/size, e.r.state.Load().pages, "non-empty pages")
			}
			assert.Zero(t, e.srv.Requests(fptapi.EndpointBillInfo))
		})
	}
}

// TestRequestsPerRefreshClosedDays: a closed day is read when it is first
// needed, again while its late window is open (rows of its last hours
// arrive after midnight), once after that window, and never again.
func TestRequestsPerRefreshClosedDays(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	const perDay = 3 // 250 rows in pages of 100: 100, 100, 50
	at := func(m time.Month, d, h, mi int) time.Time { return time.Date(2026, m, d, h, mi, 0, 0, loc) }
	steps := []struct {
		name string
		at   time.Time
		days int // days read from the API
	}{
		{"first refresh on the 5th: the 1st to the 4th, and today", at(11, 5, 12, 0), 5},
		{"15 minutes later: today only", at(11, 5, 12, 15), 1},
		{"and again", at(11, 5, 12, 30), 1},
		{"after midnight: yesterday is in its late window", at(11, 6, 0, 1), 2},
		{"still in the late window", at(11, 6, 3, 0), 2},
		{"the late window has closed: yesterday read a last time", at(11, 6, 6, 5), 2},
		{"yesterday is final", at(11, 6, 6, 20), 1},
		{"a new month: November is neither read nor kept", at(12, 1, 0, 1), 1},
		{"the 2nd, after the 1st's late window", at(12, 2, 7, 0), 2},
		{"the 2nd again", at(12, 2, 7, 15), 1},
	}
	e := newFakeEnv(t, steps[0].at, fptapitest.Config{RowsPerDay: 250, LabelSets: 10}, nil, fptapi.WithPageSize(100))
	total := 0
	for _, s := range steps {
		e.clock.Set(s.at)
		before := e.srv.Requests(fptapi.EndpointBills)
		require.NoError(t, e.r.Refresh(context.Background()), s.name)
		assert.Equal(t, s.days*perDay, e.srv.Requests(fptapi.EndpointBills)-before, s.name)
		total += s.days * perDay
	}
	assert.Equal(t, total, apiRequests(t, e))
}

// TestScrapesAddNoRequests: ten Prometheus servers scraping every 5 seconds
// for a minute, concurrently, through promhttp over HTTP on 127.0.0.1,
// while the refresher's Run loop is live: not one API request. The minute
// is simulated (the clock moves 5 s per round), so the refresh interval
// (15 minutes of real time) never comes due while the test runs.
func TestScrapesAddNoRequests(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t))
	e := newFakeEnv(t, now, fptapitest.Config{RowsPerDay: 500, LabelSets: 50, Seed: 3}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var run sync.WaitGroup
	run.Go(func() { e.r.Run(ctx) })
	t.Cleanup(func() { cancel(); run.Wait() })
	require.Eventually(t, func() bool { return monthComplete(e.r) }, patience(t), time.Millisecond, "first refresh")
	requests := e.srv.Requests(fptapi.EndpointBills)
	require.Positive(t, requests)
	counted := apiRequests(t, e)
	require.Equal(t, requests, counted)

	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(e.c))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{MaxRequestsInFlight: 40}))
	t.Cleanup(srv.Close)

	const servers, rounds = 10, 12 // every 5 s for a minute
	for round := 1; round <= rounds; round++ {
		e.clock.Add(5 * time.Second)
		age := fmt.Sprintf("fptcloud_exporter_data_age_seconds %d\n", 5*round)
		var scrapes sync.WaitGroup
		for range servers {
			scrapes.Go(func() {
				// assert, not require: require must not stop the test from this goroutine.
				req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
				if !assert.NoError(t, err) { //nolint:testifylint // in a goroutine
					return
				}
				req.Header.Set("Accept", scrapeFormats[0].accept)
				resp, err := http.DefaultClient.Do(req)
				if !assert.NoError(t, err) { //nolint:testifylint // in a goroutine
					return
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				assert.NoError(t, err) //nolint:testifylint // in a goroutine
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Contains(t, string(body), "fptcloud_billing_cost_vnd{", "the cached series are served")
				assert.Contains(t, string(body), age)
			})
		}
		scrapes.Wait()
	}
	assert.Equal(t, requests, e.srv.Requests(fptapi.EndpointBills), "API requests after %d scrapes", servers*rounds)
	assert.Zero(t, e.srv.Requests(fptapi.EndpointBillInfo))
	assert.Equal(t, counted, apiRequests(t, e))
}

// TestCollectSendsSnapshotAsIs: a scrape neither copies nor re-aggregates
// the snapshot. Collect sends the snapshot's own prebuilt samples (the same
// pointers, in order), and allocates the same for 1,000 series as for
// 100,000 (give or take a stray allocation of the runtime): nothing it does
// depends on the number of series.
func TestCollectSendsSnapshotAsIs(t *testing.T) {
	const collectAllocSlack = 5
	billing := map[*prometheus.Desc]bool{}
	for _, d := range []*prometheus.Desc{descCost.Desc, descMonthToDate.Desc, descVCPUs.Desc, descRAM.Desc, descDisk.Desc, descCPUQty.Desc, descRAMQty.Desc, descDiskQty.Desc} {
		billing[d] = true
	}
	allocs := make(map[int]float64)
	for _, n := range []int{1000, 100000} {
		e := benchEnv(t, n)
		snap := e.r.state.Load().snap
		ch := make(chan prometheus.Metric, n+64)
		e.c.Collect(ch)
		close(ch)
		sent, same := 0, 0
		for m := range ch {
			if !billing[m.Desc()] {
				continue
			}
			if sent < len(snap.metrics) && m == snap.metrics[sent] {
				same++
			}
			sent++
		}
		assert.Equal(t, n, sent)
		assert.Equal(t, n, same, "samples sent are the snapshot's, not copies")

		ch = make(chan prometheus.Metric, n+64)
		allocs[n] = testing.AllocsPerRun(5, func() {
			e.c.Collect(ch)
			for len(ch) > 0 {
				<-ch
			}
		})
	}
	t.Logf("allocations per Collect: %v", allocs)
	// AllocsPerRun reads process-wide malloc counts, so a runtime or test
	// goroutine can add a stray allocation to one run; 5 is far below the
	// 99,000 more that one allocation per series would cost.
	assert.InDelta(t, allocs[1000], allocs[100000], collectAllocSlack,
		"Collect allocates the same whatever the series count")
}

// TestFoldingAtScale: 5,000 label sets with --collector.max-series=1000.
// 999 most expensive are kept with their exact values, 4,001 go into
// __other__, every family's total is unchanged, the gauges say so, and
// each refresh logs one warning (a refresh that folds nothing logs none).
func TestFoldingAtScale(t *testing.T) {
	t.Parallel()
	const sets, maxSeries = 5000, 1000
	// The 2nd after the 1st's late window: the ranking is by
	// month-to-date, so the closed day counts.
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, testhelp.HCM(t))
	e := newFakeEnv(t, now, fptapitest.Config{RowsPerDay: 2 * sets, LabelSets: sets, Seed: 5}, func(c *Config) {
		c.MaxSeries = maxSeries
	}, fptapi.WithPageSize(1000))
	const refreshes = 3
	for range refreshes {
		require.NoError(t, e.r.Refresh(context.Background()))
	}

	today, totalToday, _ := fakeSums(t, e.srv, "2026-11-02")
	day1, totalDay1, _ := fakeSums(t, e.srv, "2026-11-01")
	require.Len(t, today, sets)
	mtdExact := make(map[billing.Labels]*big.Rat)
	for _, day := range []map[billing.Labels]*sums{day1, today} {
		for k, s := range day {
			if mtdExact[k] == nil {
				mtdExact[k] = new(big.Rat)
			}
			mtdExact[k].Add(mtdExact[k], s.costExact)
		}
	}
	mtd := make(map[string]float64)
	for k, v := range mtdExact {
		mtd[seriesKey(k)] = publishedVND(t, v)
	}
	wantFamilies := wantToday(today)
	wantFamilies["fptcloud_billing_month_to_date_cost_vnd"] = mtd
	yesterday := make(map[string]float64)
	for k, s := range day1 {
		yesterday[seriesKey(k)] = s.cost
	}
	wantFamilies["fptcloud_billing_yesterday_cost_vnd"] = yesterday // folded like the others

	other := seriesKey(billing.Labels{VPCID: otherLabel, VPCName: otherLabel, Service: otherLabel, BillingGroup: otherLabel, Tag: otherLabel})
	got := gatherBilling(t, e.c)
	require.Len(t, got, len(wantFamilies))
	for name, want := range wantFamilies {
		g := got[name]
		assert.Len(t, g, maxSeries, name)
		_, ok := g[other]
		require.True(t, ok, "%s: no __other__ series", name)
		var wantTotal, gotTotal float64
		for _, v := range want {
			wantTotal += v
		}
		for k, v := range g {
			gotTotal += v
			if k == other {
				continue
			}
			w, ok := want[k]
			require.True(t, ok, "%s: unknown series %q", name, k)
			require.Equal(t, w, v, "%s: a kept series has its exact value", name)
		}
		assert.InDelta(t, wantTotal, gotTotal, 1e-9*max(wantTotal, 1), "%s: folding keeps the total", name)
	}
	assert.InEpsilon(t, totalToday, totalSum(got["fptcloud_billing_cost_vnd"]), 1e-9)
	assert.InEpsilon(t, totalToday+totalDay1, totalSum(got["fptcloud_billing_month_to_date_cost_vnd"]), 1e-9)

	// The kept ones are the most expensive by month-to-date.
	kept := got["fptcloud_billing_month_to_date_cost_vnd"]
	minKept, maxFolded := -1.0, -1.0
	for k, v := range mtd {
		if _, ok := kept[k]; ok {
			if minKept < 0 || v < minKept {
				minKept = v
			}
		} else {
			maxFolded = max(maxFolded, v)
		}
	}
	assert.GreaterOrEqual(t, minKept, maxFolded)

	want, names := expo(t, map[string][]string{
		"fptcloud_exporter_label_sets":        {fmt.Sprintf(" %d", maxSeries)},
		"fptcloud_exporter_folded_label_sets": {fmt.Sprintf(" %d", sets-maxSeries+1)},
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
	logs := e.logs.String()
	assert.Equal(t, refreshes, strings.Count(logs, "level=warn"), "one warning per refresh")
	assert.Equal(t, refreshes, strings.Count(logs, fmt.Sprintf("max_series=%d folded=%d", maxSeries, sets-maxSeries+1)))

	// Under the limit: no fold, no warning.
	e2 := newFakeEnv(t, now, fptapitest.Config{RowsPerDay: 2 * sets, LabelSets: sets, Seed: 5}, nil, fptapi.WithPageSize(1000))
	require.NoError(t, e2.r.Refresh(context.Background()))
	assert.Equal(t, sets, e2.r.state.Load().snap.labelSets)
	assert.Zero(t, e2.r.state.Load().snap.folded)
	assert.NotContains(t, e2.logs.String(), "level=warn")
}

func totalSum(m map[string]float64) float64 {
	var s float64
	for _, v := range m {
		s += v
	}
	return s
}
