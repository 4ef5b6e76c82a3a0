package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

const loadToken = "tok-LOAD-3b9f0e"

// loadTimezone returns a billing time zone whose local hour is now in
// [2, 22). The refresher also wakes just after each billing midnight, and
// the fake starts a new day then, whatever the interval: a load test that
// ran across midnight would see a refresh it did not ask for. The test
// takes minutes, so two hours either side of midnight is plenty.
func loadTimezone(t *testing.T) *time.Location {
	t.Helper()
	now := time.Now()
	for _, name := range []string{"Asia/Ho_Chi_Minh", "Europe/London", "America/New_York"} {
		loc, err := time.LoadLocation(name)
		require.NoError(t, err)
		if h := now.In(loc).Hour(); h >= 2 && h < 22 {
			return loc
		}
	}
	t.Fatalf("no candidate time zone is between 02:00 and 22:00 at %s", now.UTC())
	return nil
}

var billsRequestsLine = regexp.MustCompile(`(?m)^fptcloud_exporter_api_requests_total\{code="([^"]*)",endpoint="bills"\} (\S+)$`)

// failedBillsRequests reads from an exposition the exporter's own count of
// attempts at the bills endpoint that got no 200: every retry follows one.
func failedBillsRequests(t *testing.T, exposition string) int {
	t.Helper()
	failed := 0
	for _, m := range billsRequestsLine.FindAllStringSubmatch(exposition, -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		require.NoError(t, err)
		if m[1] != "200" {
			failed += int(v)
		}
	}
	return failed
}

// scrapeResult is what one scraper saw.
type scrapeResult struct {
	latencies []time.Duration
	errs      []string
	series    []int // cost series per scrape
}

// scrapeLoad runs n scrapers of url until the deadline. Each reads the whole
// body (uncompressed: the load is the exporter's, not gzip's) and counts its
// fptcloud_billing_cost_vnd series.
func scrapeLoad(url string, n int, d time.Duration) scrapeResult {
	client := &http.Client{
		Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: n, MaxConnsPerHost: n},
		Timeout:   5 * time.Minute,
	}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(d)
	var (
		mu  sync.Mutex
		all scrapeResult
		wg  sync.WaitGroup
	)
	for range n {
		wg.Go(func() {
			var mine scrapeResult
			for time.Now().Before(deadline) {
				start := time.Now()
				series, err := scrapeOnce(client, url)
				if err != nil {
					mine.errs = append(mine.errs, err.Error())
					continue
				}
				mine.latencies = append(mine.latencies, time.Since(start))
				mine.series = append(mine.series, series)
			}
			mu.Lock()
			defer mu.Unlock()
			all.latencies = append(all.latencies, mine.latencies...)
			all.errs = append(all.errs, mine.errs...)
			all.series = append(all.series, mine.series...)
		})
	}
	wg.Wait()
	return all
}

var costPrefix = []byte("fptcloud_billing_cost_vnd{")

func scrapeOnce(client *http.Client, url string) (int, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	series := 0
	for sc.Scan() {
		if bytes.HasPrefix(sc.Bytes(), costPrefix) {
			series++
		}
	}
	return series, sc.Err()
}

// peakHeap samples the heap in use until done is closed.
func peakHeap(done <-chan struct{}) uint64 {
	var peak uint64
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
		select {
		case <-done:
			return peak
		case <-tick.C:
		}
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// dayRead matches the debug and info lines of every day read completely:
// today's refreshes, the closed days and the previous month's days.
var dayRead = regexp.MustCompile(`msg="(refresh of today done|closed day read|closed day read again|previous month day read)"`)

// refreshRequests reads the debug log: the completed refreshes of today and
// the API requests that the days read completely explain. Every generated
// day has the same number of rows, so a day costs perDay requests; largest
// is the most one cancelled read may have made.
func refreshRequests(t *testing.T, logs string, perDay int) (refreshes, requests, largest int) {
	t.Helper()
	for _, m := range dayRead.FindAllStringSubmatch(logs, -1) {
		if m[1] == "refresh of today done" {
			refreshes++
		}
		requests += perDay
	}
	return refreshes, requests, perDay
}

// requestsPerDay is what paging a day of rows costs: its pages, and an
// empty page after a full last one.
func requestsPerDay(rows, pageSize int) int {
	n := (rows + pageSize - 1) / pageSize
	if rows%pageSize == 0 {
		n++
	}
	return n
}

// loadTestEnv opts in to TestLoadConcurrentScrapes.
const loadTestEnv = "FPTCLOUD_LOAD_TEST"

// TestLoadConcurrentScrapes: 200 scrapers for 10s against a snapshot of
// 10,000 billing series (1,250 label sets × 8 billing metrics), through the
// real server (run), with a refresh
// every second: no HTTP error, every scrape complete, and every API request
// the fake saw is one that a refresh made.
//
// It keeps both cores busy for its whole run, which would slow the tests of
// the other packages that `go test ./...` runs beside it: it runs only when
// asked, alone (.ci/run does, after the race tests).
func TestLoadConcurrentScrapes(t *testing.T) {
	if os.Getenv(loadTestEnv) != "1" {
		t.Skipf("load test (200 scrapers for 10s, both cores busy): set %s=1 to run it, alone: "+
			"%s=1 go test -run '^TestLoadConcurrentScrapes$' -count=1 -v .", loadTestEnv, loadTestEnv)
	}
	if testing.Short() {
		t.Skip("load test: 200 scrapers for 10s; skipped with -short")
	}
	const scrapers, pageSize = 200, 1000
	duration, labelSets := 10*time.Second, 1250
	if testhelp.RaceEnabled {
		// Under the race detector one scrape of 16,000 samples took 3s
		// here (2 shared cores), so 200 concurrent scrapes of 10,000
		// would not end in minutes: a shorter run over fewer series
		// still races 200 scrapers against the refresher.
		duration, labelSets = 3*time.Second, 100
		t.Logf("-race: %s with %d label sets", duration, labelSets)
	}
	loc := loadTimezone(t)
	t.Logf("billing time zone %s (local time %s)", loc, time.Now().In(loc).Format("15:04"))
	fake := fptapitest.NewServer(fptapitest.Config{Token: loadToken, RowsPerDay: labelSets, LabelSets: labelSets, Location: loc})
	t.Cleanup(fake.Close)
	env := tokenEnv(loadToken)
	base, logs, stop := startExporter(t, env, "--fpt.api-url="+fake.URL, "--collector.refresh-interval=1s", "--fpt.timezone="+loc.String(),
		"--fpt.page-size="+strconv.Itoa(pageSize), "--fpt.rate-limit=100000", "--web.max-requests=0", "--log.level=debug")
	testhelp.WaitFor(t, base+"/-/ready", http.StatusOK, testhelp.Patience)

	served, err := scrapeOnce(http.DefaultClient, base+"/metrics")
	require.NoError(t, err)
	require.InDelta(t, labelSets, served, float64(labelSets)/10, "about one cost series per label set")
	t.Logf("%d series per billing metric", served)
	alone := scrapeLoad(base+"/metrics", 1, time.Second)
	require.Empty(t, alone.errs)
	slices.Sort(alone.latencies)
	t.Logf("one scraper alone: %d scrapes in 1s, p50 %s", len(alone.latencies), percentile(alone.latencies, 0.5).Round(time.Millisecond))
	perDay := requestsPerDay(labelSets, pageSize)
	refreshesBefore, _, _ := refreshRequests(t, logs.String(), perDay)
	requestsBefore := fake.Requests(fptapi.EndpointBills)

	heap := make(chan uint64)
	loadDone := make(chan struct{})
	go func() { heap <- peakHeap(loadDone) }()
	start := time.Now()
	res := scrapeLoad(base+"/metrics", scrapers, duration)
	elapsed := time.Since(start)
	requestsDuring := fake.Requests(fptapi.EndpointBills) - requestsBefore
	close(loadDone)
	t.Logf("peak heap in use during the load (exporter, fake and scrapers in one process): %d MiB", <-heap>>20)

	// The exporter's own count of failed attempts, just before the stop:
	// a retry (by the client, or a transport error it saw) follows one.
	code, exposition := testhelp.Get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code)
	failedAttempts := failedBillsRequests(t, exposition)

	// Stop the exporter before counting, so no refresh is left uncounted
	// but the one cancelled by the stop.
	require.Equal(t, 0, stop())
	assert.Empty(t, res.errs, "no scrape may fail")
	require.NotEmpty(t, res.latencies)
	for _, n := range res.series {
		if n != served {
			t.Errorf("a scrape had %d cost series, want %d", n, served)
			break
		}
	}
	slices.Sort(res.latencies)
	t.Logf("%d scrapes by %d scrapers in %s (%.1f/s): p50 %s, p99 %s, max %s",
		len(res.latencies), scrapers, elapsed.Round(time.Millisecond), float64(len(res.latencies))/elapsed.Seconds(),
		percentile(res.latencies, 0.50).Round(time.Millisecond), percentile(res.latencies, 0.99).Round(time.Millisecond),
		res.latencies[len(res.latencies)-1].Round(time.Millisecond))

	out := logs.String()
	refreshes, explained, largest := refreshRequests(t, out, perDay)
	canceled := strings.Count(out, `msg="refresh canceled"`)
	t.Logf("refreshes completed during the load: %d; API requests during the load: %d; in all: %d, of which %d by completed refreshes, the rest by %d refresh cancelled at stop and %d failed attempts the exporter counted",
		refreshes-refreshesBefore, requestsDuring, fake.Requests(fptapi.EndpointBills), explained, canceled, failedAttempts)
	assert.NotContains(t, out, `msg="refresh failed"`)
	assert.Positive(t, requestsDuring, "refreshes ran during the load")
	got := fake.Requests(fptapi.EndpointBills)
	assert.GreaterOrEqual(t, got, explained)
	// Pages of completed refreshes, of the one cancelled at the stop, and
	// one retry per attempt that the exporter itself counted as failed
	// (fptcloud_exporter_api_requests_total with a code other than 200):
	// a request a scrape made would be in none of them.
	assert.LessOrEqual(t, got, explained+canceled*largest+failedAttempts, "API requests beyond what the refreshes made")
	assert.Zero(t, fake.Requests(fptapi.EndpointBillInfo))
}

// TestLoadScrapesMakeNoAPIRequests: with no refresh due, 200 concurrent
// scrapers make no API request at all.
func TestLoadScrapesMakeNoAPIRequests(t *testing.T) {
	labelSets := 1000
	if testhelp.RaceEnabled {
		labelSets = 100 // see TestLoadConcurrentScrapes
	}
	// With the interval at 1h, only a billing midnight could wake the
	// refresher during the test: keep it hours away.
	loc := loadTimezone(t)
	fake := fptapitest.NewServer(fptapitest.Config{Token: loadToken, RowsPerDay: labelSets, LabelSets: labelSets, Location: loc})
	t.Cleanup(fake.Close)
	env := tokenEnv(loadToken)
	base, _, stop := startExporter(t, env, "--fpt.api-url="+fake.URL, "--collector.refresh-interval=1h", "--no-collector.previous-month", "--fpt.timezone="+loc.String(),
		"--fpt.rate-limit=100000", "--web.max-requests=200")
	testhelp.WaitFor(t, base+"/-/ready", http.StatusOK, time.Minute)
	waitForMetric(t, base, "fptcloud_exporter_closed_day_reads_missing", 0, time.Minute)
	before := fake.Requests(fptapi.EndpointBills)

	res := scrapeLoad(base+"/metrics", 200, 2*time.Second)
	assert.Empty(t, res.errs)
	assert.NotEmpty(t, res.latencies)
	assert.Equal(t, before, fake.Requests(fptapi.EndpointBills), "scrapes made API requests")
	assert.Equal(t, 0, stop())
}

// noBills is a BillSource with no bills.
type noBills struct{}

func (noBills) Bills(context.Context, time.Time, fptapi.Filter, func([]fptapi.Bill) error) error {
	return nil
}

// slowCollector blocks every Collect until release is closed.
type slowCollector struct {
	entered chan struct{}
	release chan struct{}
}

var slowDesc = prometheus.NewDesc("test_slow", "A collector that waits.", nil, nil)

func (c *slowCollector) Describe(ch chan<- *prometheus.Desc) { ch <- slowDesc }

func (c *slowCollector) Collect(ch chan<- prometheus.Metric) {
	c.entered <- struct{}{}
	<-c.release
	ch <- prometheus.MustNewConstMetric(slowDesc, prometheus.GaugeValue, 1)
}

// TestMaxRequestsCapsConcurrentScrapes: with --web.max-requests=1, a scrape
// that arrives while another is in flight gets 503 at once; the other
// endpoints are not capped, and the cap frees when the slow scrape ends.
func TestMaxRequestsCapsConcurrentScrapes(t *testing.T) {
	t.Parallel()
	cfg, err := config.NewApp().Resolve([]string{"--demo", "--web.max-requests=1"}, noEnv)
	require.NoError(t, err)
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	require.NoError(t, err)
	refresher, err := collector.NewRefresher(collector.Config{Source: noBills{}, Location: loc, Logger: log.NewNopLogger()})
	require.NoError(t, err)
	slow := &slowCollector{entered: make(chan struct{}, 1), release: make(chan struct{})}
	registry := prometheus.NewRegistry()
	registry.MustRegister(slow)
	_, slogger := newLogger(io.Discard, &cfg.Log)
	handler, err := newHandler(cfg.Server, registry, collector.NewAccounts([]collector.Account{{Source: refresher}}), slogger)
	require.NoError(t, err)
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)

	first := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			first <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	select {
	case <-slow.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first scrape never reached the collector")
	}

	code, body := testhelp.Get(t, srv.URL+"/metrics")
	assert.Equal(t, http.StatusServiceUnavailable, code, "a second concurrent scrape: %s", body)
	assert.Contains(t, body, "Limit of concurrent requests reached (1)")
	code, _ = testhelp.Get(t, srv.URL+"/-/healthy")
	assert.Equal(t, http.StatusOK, code, "health checks are not scrapes")

	close(slow.release)
	assert.Equal(t, http.StatusOK, <-first)
	code, body = testhelp.Get(t, srv.URL+"/metrics")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "test_slow 1")
}

// FuzzTelemetryPath: a --web.telemetry-path that Resolve accepts must be
// one a scraper can reach: the handler builds, and a GET of that path, as
// Prometheus sends it (escaped), is answered with the metrics.
func FuzzTelemetryPath(f *testing.F) {
	for _, s := range []string{"/metrics", "/", "/a/b", "/metrics/", "/a/../b", "//x", "/%zz", "/é", "/a b", "/-/healthy", "/x\x00"} {
		f.Add(s)
	}
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	require.NoError(f, err)
	refresher, err := collector.NewRefresher(collector.Config{Source: noBills{}, Location: loc, Logger: log.NewNopLogger()})
	require.NoError(f, err)
	registry := prometheus.NewRegistry()
	registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "test_up", Help: "Always 1."}, func() float64 { return 1 }))
	f.Fuzz(func(t *testing.T, p string) {
		cfg, err := config.NewApp().Resolve([]string{"--demo", "--web.telemetry-path=" + p}, noEnv)
		if err != nil {
			return
		}
		_, slogger := newLogger(io.Discard, &cfg.Log)
		handler, err := newHandler(cfg.Server, registry, collector.NewAccounts([]collector.Account{{Source: refresher}}), slogger)
		require.NoError(t, err)
		target := (&url.URL{Path: p}).EscapedPath()
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+target, nil)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "test_up 1") {
			t.Fatalf("--web.telemetry-path=%q was accepted, but GET %s answers %d", p, target, rec.Code)
		}
	})
}
