package collector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector/store"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

var storeID = store.Identity{APIURL: "http://fake/api", Filters: []string{""}, TimeZone: "Asia/Ho_Chi_Minh"}

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	s, err := store.Open(dir, storeID)
	require.NoError(t, err)
	return s
}

// pagesOf is the requests a day of n rows costs in pages of size: the full
// pages, and the short or empty one that ends it.
func pagesOf(n, size int) int { return n/size + 1 }

// rowsOn counts the fake's rows of day (as of the fake's clock).
func rowsOn(t testing.TB, srv *fptapitest.Server, day string) int {
	t.Helper()
	n := 0
	require.NoError(t, srv.EachBill(day, fptapi.Filter{}, func(*fptapi.Bill) bool { n++; return true }))
	return n
}

// restartCounts runs a cold start and then a restart on the same store at
// now, against a fake of rowsPerDay rows in pages of 100. It returns the
// API requests each made before it was ready (today served) and in all,
// and checks that both serve the same, exact month-to-date.
type restartCounts struct {
	coldToReady, cold, restart int
}

func measureRestart(t *testing.T, now time.Time, rowsPerDay int) restartCounts {
	t.Helper()
	dir := t.TempDir()
	fcfg := fptapitest.Config{RowsPerDay: rowsPerDay, LabelSets: 40, Seed: 7}
	var c restartCounts

	cold := newFakeEnv(t, now, fcfg, func(cfg *Config) { cfg.Store = openStore(t, dir) }, fptapi.WithPageSize(100))
	readyAt := -1
	cold.r.cfg.Source = &spySource{inner: cold.r.cfg.Source, before: func(time.Time) {
		if readyAt < 0 && cold.r.Ready() {
			readyAt = cold.srv.Requests(fptapi.EndpointBills)
		}
	}}
	require.NoError(t, cold.r.Refresh(context.Background()))
	c.cold = cold.srv.Requests(fptapi.EndpointBills)
	c.coldToReady = readyAt
	coldMTD := gatherBilling(t, cold.c)["fptcloud_billing_month_to_date_cost_vnd"]
	require.NotEmpty(t, coldMTD)

	restarted := newFakeEnv(t, now, fcfg, func(cfg *Config) { cfg.Store = openStore(t, dir) }, fptapi.WithPageSize(100))
	require.NoError(t, restarted.r.Refresh(context.Background()))
	c.restart = restarted.srv.Requests(fptapi.EndpointBills)
	assert.Equal(t, coldMTD, gatherBilling(t, restarted.c)["fptcloud_billing_month_to_date_cost_vnd"],
		"the restart serves the same month-to-date")
	assert.True(t, monthComplete(restarted.r))
	return c
}

// TestRestartReadsOnlyToday: with a valid store, a restart on the 28th
// makes exactly today's requests, and yesterday's too while its late
// window is open; a cold start is ready after today's requests alone.
func TestRestartReadsOnlyToday(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	const rows = 300
	tests := []struct {
		name          string
		now           time.Time
		yesterdayRead bool
	}{
		{"after yesterday's late window", time.Date(2026, 11, 28, 10, 0, 0, 0, loc), false},
		{"inside yesterday's late window", time.Date(2026, 11, 28, 3, 0, 0, 0, loc), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := measureRestart(t, tt.now, rows)
			srv := fptapitest.NewServer(fptapitest.Config{RowsPerDay: rows, LabelSets: 40, Seed: 7, Location: loc,
				Now: func() time.Time { return tt.now }})
			t.Cleanup(srv.Close)
			today := pagesOf(rowsOn(t, srv, "2026-11-28"), 100)
			closed := 27 * pagesOf(rows, 100)
			assert.Equal(t, today, c.coldToReady, "a cold start is ready after today's pages")
			assert.Equal(t, today+closed, c.cold, "then reads every closed day once")
			want := today
			if tt.yesterdayRead {
				want += pagesOf(rows, 100)
			}
			assert.Equal(t, want, c.restart, "a restart reads today (and yesterday in its late window) only")
		})
	}
}

// TestRestartCostAtScale states, for a month of 10,000 rows a day on the
// 28th at the default page size and rate limit, the requests and the time
// at 5 requests/s until today is served, and until month-to-date is, on a
// cold start and on a restart. Before the store and today-first, both
// waited for every request of the month.
func TestRestartCostAtScale(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("pages 280,000 rows")
	}
	const rows, rate = 10000, 5.0
	c := measureRestart(t, time.Date(2026, 11, 28, 10, 0, 0, 0, testhelp.HCM(t)), rows)
	secs := func(n int) string { return fmt.Sprintf("%d requests, %.0f s", n, float64(n)/rate) }
	t.Logf("10,000 rows/day on the 28th at %v requests/s: before this change, cold start and restart alike: ready after %s",
		rate, secs(c.cold))
	t.Logf("now: cold start ready after %s, month-to-date after %s; restart: ready and month-to-date after %s",
		secs(c.coldToReady), secs(c.cold), secs(c.restart))
	assert.Equal(t, 28*pagesOf(rows, 100)-pagesOf(rows, 100)+c.coldToReady, c.cold)
	assert.Equal(t, c.coldToReady, c.restart)
}

// spySource runs before ahead of each query of inner.
type spySource struct {
	inner  BillSource
	before func(day time.Time)
}

func (s *spySource) Bills(ctx context.Context, day time.Time, f fptapi.Filter, fn func([]fptapi.Bill) error) error {
	s.before(day)
	return s.inner.Bills(ctx, day, f, fn)
}

// TestTodayFirst: with no store, today is served before any closed day is
// read; month-to-date appears only once the last closed day is in, exact;
// the missing count goes down day by day; the log tells the story.
func TestTodayFirst(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	src := newStub(knownDataset())
	e := newEnv(t, src, time.Date(2026, 11, 3, 10, 0, 0, 0, loc), nil)
	type seen struct {
		ready   bool
		missing string
		mtd     bool
	}
	var closedReads []seen
	e.r.cfg.Source = &spySource{inner: src, before: func(day time.Time) {
		if day.Day() == 3 {
			return
		}
		families := gatherBilling(t, e.c)
		_, mtd := families["fptcloud_billing_month_to_date_cost_vnd"]
		out, err := testutil.CollectAndFormat(e.c, expfmt.TypeTextPlain, "fptcloud_exporter_closed_day_reads_missing")
		require.NoError(t, err)
		closedReads = append(closedReads, seen{e.r.Ready(), strings.TrimSpace(string(out[strings.LastIndex(string(out), " "):])), mtd})
	}}
	require.NoError(t, e.r.Refresh(context.Background()))
	assert.Equal(t, []seen{{true, "2", false}, {true, "1", false}}, closedReads,
		"closed days are read after today is served, and month-to-date waits for both")
	want, names := expo(t, map[string][]string{
		"fptcloud_billing_month_to_date_cost_vnd":    {lblA + " 2650.75", lblB + " 210", lblC + " 50", lblD + " 0"},
		"fptcloud_exporter_closed_day_reads_missing": {" 0"},
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
	logs := e.logs.String()
	for _, line := range []string{
		`level=info msg="first refresh succeeded: serving today's bills" day=2026-11-03 rows=4 pages=2`,
		`level=info msg="closed day read" day=2026-11-01 label_sets=2 closed_days_done=1 closed_days=2 remaining=1`,
		`level=info msg="closed day read" day=2026-11-02 label_sets=2 closed_days_done=2 closed_days=2 remaining=0`,
		`level=info msg="month-to-date complete: every closed day is in" closed_days=2`,
	} {
		assert.Contains(t, logs, line)
	}
}

// pagingClock is a stub whose every page takes the same simulated time,
// recording when each query of today started.
type pagingClock struct {
	*stubSource
	clock     *fakeClock
	perPage   time.Duration
	today     string
	mu        sync.Mutex
	todayRuns []time.Time
}

func (p *pagingClock) Bills(ctx context.Context, day time.Time, f fptapi.Filter, fn func([]fptapi.Bill) error) error {
	if day.Format(time.DateOnly) == p.today {
		p.mu.Lock()
		p.todayRuns = append(p.todayRuns, p.clock.Now())
		p.mu.Unlock()
	}
	return p.stubSource.Bills(ctx, day, f, func(page []fptapi.Bill) error {
		p.clock.Add(p.perPage)
		return fn(page)
	})
}

// novemberDays is rowsPerDay rows on each of November's first n days,
// row i of day d costing d+i/100, and the sum of them all.
func novemberDays(n, rowsPerDay int) (map[string][]fptapi.Bill, float64) {
	days := make(map[string][]fptapi.Bill)
	var total float64
	for d := 1; d <= n; d++ {
		var rows []fptapi.Bill
		for i := range rowsPerDay {
			rows = append(rows, row(setA, float64(d)+float64(i)/100))
			total += float64(d) + float64(i)/100
		}
		days[fmt.Sprintf("2026-11-%02d", d)] = rows
	}
	return days, total
}

// pagesPerDay is the pages of each day in pagedRefresh, in pages of 2.
const pagesPerDay = 10

// pagedRefresh runs one refresh at start over November's first n days,
// every page taking 10s of the clock, and records when each read of today
// (the day named) began. It returns the sum of the n days too.
func pagedRefresh(t *testing.T, n int, start time.Time, today string, edit func(*Config)) (*testEnv, *pagingClock, float64) {
	t.Helper()
	days, total := novemberDays(n, pagesPerDay*2)
	src := newStub(days)
	e := newEnv(t, src, start, edit)
	pc := &pagingClock{stubSource: src, clock: e.clock, perPage: 10 * time.Second, today: today}
	e.r.cfg.Source = pc
	require.NoError(t, e.r.Refresh(context.Background()))
	return e, pc, total
}

// TestTodayRefreshesDuringLongFill: a 27-day fill that takes 45 minutes of
// API time does not hold today back: today is refreshed every interval in
// between, within one page of schedule, and month-to-date ends up exact.
func TestTodayRefreshesDuringLongFill(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	start := time.Date(2026, 11, 28, 10, 0, 0, 0, loc)
	e, pc, wantMTD := pagedRefresh(t, 28, start, "2026-11-28", nil)

	fill := e.clock.Now().Sub(start)
	assert.GreaterOrEqual(t, fill, 45*time.Minute)
	require.GreaterOrEqual(t, len(pc.todayRuns), 4, "today is refreshed during the fill")
	for i := 1; i < len(pc.todayRuns); i++ {
		gap := pc.todayRuns[i].Sub(pc.todayRuns[i-1])
		assert.LessOrEqual(t, gap, 15*time.Minute+pagesPerDay*10*time.Second+pc.perPage,
			"today's refresh %d started %s after the one before", i, gap)
		assert.GreaterOrEqual(t, gap, 15*time.Minute, "and not more often than the interval")
	}
	got := gatherBilling(t, e.c)["fptcloud_billing_month_to_date_cost_vnd"]
	require.Len(t, got, 1)
	for _, v := range got {
		assert.InDelta(t, wantMTD, v, 1e-6)
	}
}

// TestSlowTodayLeavesTheMonthItsShare: when today takes longer to read
// than the refresh interval, the closed days still get as much API time as
// today does, instead of one page per refresh of today.
func TestSlowTodayLeavesTheMonthItsShare(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	const closedDays = 3
	start := time.Date(2026, 11, closedDays+1, 10, 0, 0, 0, loc)
	// Today's 10 pages take 100s of API time, the interval is 60s.
	e, pc, _ := pagedRefresh(t, closedDays+1, start, start.Format(time.DateOnly), func(c *Config) { c.RefreshInterval = time.Minute })

	// The first read of today, then one after each 10 closed pages at most.
	assert.LessOrEqual(t, len(pc.todayRuns), 1+closedDays+1, "refreshes of today while %d closed days were read", closedDays)
	assert.GreaterOrEqual(t, len(pc.todayRuns), 2, "today is still refreshed during the fill")
	assert.Equal(t, 0, e.r.cache.missing(e.r.today.day))
	assert.Equal(t, 1, strings.Count(e.logs.String(), "reading today took longer than --collector.refresh-interval"),
		"one warning, not one per refresh: %s", e.logs.String())
}

// TestSlowTodayNeverExpires: when reading today takes more than half of
// MaxAge, the closed days' share shrinks so that today's data are renewed
// before they expire.
func TestSlowTodayNeverExpires(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	start := time.Date(2026, 11, 4, 10, 0, 0, 0, loc)
	// Today takes 100s to read; its data expire 180s after it is read.
	_, pc, _ := pagedRefresh(t, 4, start, "2026-11-04", func(c *Config) { c.RefreshInterval, c.MaxAge = time.Minute, 3*time.Minute })

	require.Greater(t, len(pc.todayRuns), 2)
	for i := 1; i < len(pc.todayRuns); i++ {
		// From one read's end to the next one's: the gap between their
		// starts, at most.
		assert.Less(t, pc.todayRuns[i].Sub(pc.todayRuns[i-1]), 3*time.Minute, "read %d", i)
	}
}

// TestMidnightDuringClosedDaysRefreshesToday: a fill that runs past billing
// midnight reads the new day within a page of it; until then no billing
// series are served.
func TestMidnightDuringClosedDaysRefreshesToday(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	start := time.Date(2026, 11, 10, 23, 58, 0, 0, loc)
	e, pc, wantMTD := pagedRefresh(t, 11, start, "2026-11-11", nil)
	midnight := time.Date(2026, 11, 11, 0, 0, 0, 0, loc)
	require.NotEmpty(t, pc.todayRuns, "the 11th was never read during the fill (clock at %s)", e.clock.Now())
	assert.LessOrEqual(t, pc.todayRuns[0].Sub(midnight), pc.perPage, "the 11th was first read at %s", pc.todayRuns[0])
	// And the same refresh went on with the new day's month: the 10th,
	// closed now, is in, and month-to-date with it.
	assert.Equal(t, billing.Date{Year: 2026, Month: 11, Day: 11}, e.r.today.day)
	assert.Equal(t, 0, e.r.cache.missing(e.r.today.day))
	got := gatherBilling(t, e.c)["fptcloud_billing_month_to_date_cost_vnd"]
	require.Len(t, got, 1)
	for _, v := range got {
		assert.InDelta(t, wantMTD, v, 1e-6)
	}
}

// TestClosedDayAlwaysFails: a closed day that cannot be read holds back
// month-to-date only: today is served, the day is named in a gauge, and
// month-to-date appears, exact, once the day can be read.
func TestClosedDayAlwaysFails(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	src := newStub(knownDataset())
	e := newEnv(t, src, time.Date(2026, 11, 3, 10, 0, 0, 0, loc), nil)
	src.setFailure(&failure{day: "2026-11-01", page: 1, err: errors.New("HTTP 500: index error")})
	for range 3 {
		err := e.r.Refresh(context.Background())
		require.ErrorContains(t, err, "bills of 2026-11-01")
		e.clock.Add(15 * time.Minute)
	}
	e.clock.Add(-15 * time.Minute)
	want, names := expo(t, map[string][]string{
		"fptcloud_billing_cost_vnd":                  {lblA + " 150.25", lblB + " 10", lblD + " 0"},
		"fptcloud_billing_month_to_date_cost_vnd":    nil,
		"fptcloud_exporter_refresh_success":          {" 1"},
		"fptcloud_exporter_closed_day_reads_missing": {" 1"},
		"fptcloud_exporter_closed_day_failed":        {`{day="2026-11-01"} 1`},
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
	assert.True(t, e.r.Ready())
	assert.Contains(t, e.logs.String(), `level=warn msg="reading a closed day failed; month-to-date waits for it" day=2026-11-01`)

	src.setFailure(nil)
	require.NoError(t, e.r.Refresh(context.Background()))
	want, names = expo(t, map[string][]string{
		"fptcloud_billing_month_to_date_cost_vnd":    {lblA + " 2650.75", lblB + " 210", lblC + " 50", lblD + " 0"},
		"fptcloud_exporter_closed_day_reads_missing": {" 0"},
		"fptcloud_exporter_closed_day_failed":        nil,
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
}

// TestEmptyAnswers: no rows for a day is not an error (a new day just after
// midnight), but no rows for a day that had rows is a failure that keeps the
// last good data, for today and for a closed day alike.
func TestEmptyAnswers(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	t.Run("a new day with no rows yet is served as empty", func(t *testing.T) {
		src := newStub(map[string][]fptapi.Bill{"2026-11-01": {row(setA, 7)}})
		e := newEnv(t, src, time.Date(2026, 11, 2, 0, 0, 5, 0, loc), nil)
		require.NoError(t, e.r.Refresh(context.Background()))
		want, names := expo(t, map[string][]string{
			"fptcloud_billing_cost_vnd":               nil,
			"fptcloud_billing_month_to_date_cost_vnd": {lblA + " 7"},
			"fptcloud_exporter_refresh_success":       {" 1"},
			"fptcloud_exporter_label_sets":            {" 1"},
		})
		require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
	})
	t.Run("today turning empty is a failure", func(t *testing.T) {
		src := newStub(knownDataset())
		e := newEnv(t, src, time.Date(2026, 11, 3, 10, 0, 0, 0, loc), nil)
		require.NoError(t, e.r.Refresh(context.Background()))
		src.setDay("2026-11-03", nil)
		e.clock.Add(15 * time.Minute)
		require.ErrorIs(t, e.r.Refresh(context.Background()), errEmptyAgain)
		want, names := expo(t, map[string][]string{
			"fptcloud_billing_cost_vnd":                {lblA + " 150.25", lblB + " 10", lblD + " 0"},
			"fptcloud_billing_month_to_date_cost_vnd":  {lblA + " 2650.75", lblB + " 210", lblC + " 50", lblD + " 0"},
			"fptcloud_exporter_refresh_success":        {" 0"},
			"fptcloud_exporter_refresh_failures_total": {" 1"},
		})
		require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
	})
	t.Run("yesterday turning empty in its late window is a failure", func(t *testing.T) {
		src := newStub(knownDataset())
		e := newEnv(t, src, time.Date(2026, 11, 3, 3, 0, 0, 0, loc), nil)
		require.NoError(t, e.r.Refresh(context.Background()))
		src.setDay("2026-11-02", nil)
		e.clock.Add(15 * time.Minute)
		require.ErrorIs(t, e.r.Refresh(context.Background()), errEmptyAgain)
		want, names := expo(t, map[string][]string{
			"fptcloud_billing_month_to_date_cost_vnd": {lblA + " 2650.75", lblB + " 210", lblC + " 50", lblD + " 0"},
			"fptcloud_exporter_refresh_success":       {" 1"},
			"fptcloud_exporter_closed_day_failed":     {`{day="2026-11-02"} 1`},
		})
		require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
	})
}

// TestMidnightKeepsYesterday: just after midnight, month-to-date goes on
// with yesterday's last read until yesterday is read again as a closed day.
func TestMidnightKeepsYesterday(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	src := newStub(knownDataset())
	e := newEnv(t, src, time.Date(2026, 11, 3, 23, 50, 0, 0, loc), nil)
	require.NoError(t, e.r.Refresh(context.Background()))
	src.takeCalls()
	e.clock.Set(time.Date(2026, 11, 4, 0, 0, 1, 0, loc))
	var mtdBeforeRead map[string]float64
	e.r.cfg.Source = &spySource{inner: src, before: func(day time.Time) {
		if day.Day() == 3 {
			mtdBeforeRead = gatherBilling(t, e.c)["fptcloud_billing_month_to_date_cost_vnd"]
		}
	}}
	require.NoError(t, e.r.Refresh(context.Background()))
	assert.Len(t, mtdBeforeRead, 4, "month-to-date served while yesterday is read again")
	assert.Equal(t, map[string]int{"2026-11-03": 1, "2026-11-04": 1}, src.takeCalls())
}

// TestUntrustedStoreFile: a day file that cannot be trusted is ignored
// with one warning naming it; only the days concerned are read again;
// totals are exact; the files are rewritten.
func TestUntrustedStoreFile(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	now := time.Date(2026, 11, 3, 10, 0, 0, 0, loc)
	otherID := func(edit func(*store.Identity)) store.Identity { id := storeID; edit(&id); return id }
	truncate := func(t *testing.T, path string) {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, b[:len(b)-10], 0o600))
	}
	flip := func(t *testing.T, path string) {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		i := strings.Index(string(b), "1000.5")
		require.Positive(t, i)
		b[i] = '9'
		require.NoError(t, os.WriteFile(path, b, 0o600))
	}
	tests := []struct {
		name     string
		damage   func(t *testing.T, path string) // applied to the 1st's file
		id       store.Identity                  // of the restarted exporter
		reread   map[string]int
		warnings int // a change of configuration is one warning for all its days
	}{
		{"truncated", truncate, storeID, map[string]int{"2026-11-01": 1, "2026-11-03": 1}, 1},
		{"a flipped byte", flip, storeID, map[string]int{"2026-11-01": 1, "2026-11-03": 1}, 1},
		{"another API URL", nil, otherID(func(id *store.Identity) { id.APIURL = "https://console-api.fptcloud.jp/api" }),
			map[string]int{"2026-11-01": 1, "2026-11-02": 1, "2026-11-03": 1}, 1},
		{"other filters", nil, otherID(func(id *store.Identity) { id.Filters = []string{"service_type=storage"} }),
			map[string]int{"2026-11-01": 1, "2026-11-02": 1, "2026-11-03": 1}, 1},
		{"another time zone", nil, otherID(func(id *store.Identity) { id.TimeZone = "Asia/Tokyo" }),
			map[string]int{"2026-11-01": 1, "2026-11-02": 1, "2026-11-03": 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			first := newEnv(t, newStub(knownDataset()), now, func(c *Config) { c.Store = openStore(t, dir) })
			require.NoError(t, first.r.Refresh(context.Background()))
			path := filepath.Join(dir, "2026-11-01.json")
			if tt.damage != nil {
				tt.damage(t, path)
			}
			restarted, err := store.Open(dir, tt.id)
			require.NoError(t, err)
			src := newStub(knownDataset())
			e := newEnv(t, src, now, func(c *Config) { c.Store = restarted })
			require.NoError(t, e.r.Refresh(context.Background()))
			assert.Equal(t, tt.reread, src.takeCalls())
			assert.Equal(t, tt.warnings, strings.Count(e.logs.String(), "level=warn"), e.logs.String())
			assert.Contains(t, e.logs.String(), path)
			want, names := expo(t, map[string][]string{
				"fptcloud_billing_month_to_date_cost_vnd": {lblA + " 2650.75", lblB + " 210", lblC + " 50", lblD + " 0"},
			})
			require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
			_, ok, err := restarted.Load(billing.NewDate(2026, 11, 1))
			require.NoError(t, err, "the day was written again")
			assert.True(t, ok)
		})
	}
}

// failingStore fails every write, like a full disk, until it is freed.
type failingStore struct {
	saves int
	freed bool
}

func (s *failingStore) Load(billing.Date) (store.Day, bool, error) { return store.Day{}, false, nil }
func (s *failingStore) Save(store.Day) error {
	s.saves++
	if s.freed {
		return nil
	}
	return errors.New("write /data/2026-11-01.json: no space left on device")
}
func (s *failingStore) Prune(billing.Date) error { return nil }

func TestStoreWriteFailureWarnsOnce(t *testing.T) {
	t.Parallel()
	fs := &failingStore{}
	e := newEnv(t, newStub(knownDataset()), time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t)), func(c *Config) { c.Store = fs })
	require.NoError(t, e.r.Refresh(context.Background()))
	assert.Equal(t, 2, fs.saves)
	assert.Equal(t, 1, strings.Count(e.logs.String(), "level=warn"), e.logs.String())
	assert.Contains(t, e.logs.String(), "no space left on device")
	want, names := expo(t, map[string][]string{
		"fptcloud_billing_month_to_date_cost_vnd": {lblA + " 2650.75", lblB + " 210", lblC + " 50", lblD + " 0"},
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
}

// TestStorageMetrics: fptcloud_exporter_storage_ok and the count of failed
// writes follow the store through a failed open, failing writes and their
// recovery, and are absent when the store is off by choice.
func TestStorageMetrics(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t))
	storageSamples := func(ok, failures string) (string, []string) {
		if ok == "" {
			return expo(t, map[string][]string{
				"fptcloud_exporter_storage_ok":                   nil,
				"fptcloud_exporter_storage_write_failures_total": nil,
			})
		}
		return expo(t, map[string][]string{
			"fptcloud_exporter_storage_ok":                   {" " + ok},
			"fptcloud_exporter_storage_write_failures_total": {" " + failures},
		})
	}
	check := func(t *testing.T, c *Collector, ok, failures string) {
		t.Helper()
		want, names := storageSamples(ok, failures)
		require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), names...))
	}

	t.Run("off", func(t *testing.T) {
		e := newEnv(t, newStub(knownDataset()), start, nil)
		require.NoError(t, e.r.Refresh(context.Background()))
		check(t, e.c, "", "")
	})
	t.Run("unusable", func(t *testing.T) {
		e := newEnv(t, newStub(knownDataset()), start, func(c *Config) { c.StoreUnusable = true })
		check(t, e.c, "0", "0")
		require.NoError(t, e.r.Refresh(context.Background()))
		check(t, e.c, "0", "0")
	})
	t.Run("writes", func(t *testing.T) {
		e := newEnv(t, newStub(knownDataset()), start, func(c *Config) { c.Store = openStore(t, t.TempDir()) })
		check(t, e.c, "1", "0")
		require.NoError(t, e.r.Refresh(context.Background()))
		check(t, e.c, "1", "0")
	})
	t.Run("failing then freed", func(t *testing.T) {
		fs := &failingStore{}
		e := newEnv(t, newStub(knownDataset()), start, func(c *Config) { c.Store = fs })
		check(t, e.c, "1", "0") // opened: the open checks that it can write
		require.NoError(t, e.r.Refresh(context.Background()))
		require.Equal(t, 2, fs.saves)
		check(t, e.c, "0", "2")

		// The next day, the 3rd is closed and written: the space is back.
		fs.freed = true
		e.clock.Set(start.AddDate(0, 0, 1))
		require.NoError(t, e.r.Refresh(context.Background()))
		require.Greater(t, fs.saves, 2)
		check(t, e.c, "1", "2")
		assert.Contains(t, e.logs.String(), "writing the month cache works again")
	})
	t.Run("freed with no day to write", func(t *testing.T) {
		fs := &failingStore{}
		e := newEnv(t, newStub(knownDataset()), start, func(c *Config) { c.Store = fs })
		require.NoError(t, e.r.Refresh(context.Background()))
		check(t, e.c, "0", "2")
		require.NoError(t, e.r.Refresh(context.Background()))
		check(t, e.c, "0", "3") // the oldest failed day is written again, and fails

		// Same day, every closed day in: only the retry writes (both
		// days), and the gauge is 1 again after one refresh, not at the
		// next closed day.
		fs.freed = true
		require.NoError(t, e.r.Refresh(context.Background()))
		check(t, e.c, "1", "3")
		require.NoError(t, e.r.Refresh(context.Background()))
		assert.Equal(t, 5, fs.saves, "nothing left to write again")
	})
}

func TestStoreGivenAndUnusable(t *testing.T) {
	t.Parallel()
	_, err := NewRefresher(Config{Source: newStub(nil), Location: testhelp.HCM(t), Store: &failingStore{}, StoreUnusable: true})
	assert.Error(t, err)
}

// TestTrigger: a triggered Run refreshes at once instead of waiting for
// the interval.
func TestTrigger(t *testing.T) {
	t.Parallel()
	src := newStub(knownDataset())
	e := newEnv(t, src, time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t)), nil)
	ctx, cancel := context.WithCancel(context.Background())
	var run sync.WaitGroup
	run.Go(func() { e.r.Run(ctx) })
	t.Cleanup(func() { cancel(); run.Wait() })
	require.Eventually(t, func() bool { return monthComplete(e.r) }, patience(t), time.Millisecond)
	require.Equal(t, 1, src.takeCalls()["2026-11-03"])
	e.r.Trigger()
	require.Eventually(t, func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return src.calls["2026-11-03"] == 1
	}, patience(t), time.Millisecond, "the trigger refreshes today, though the clock did not move")
}

// TestFailedNewDayRetriesSoon: when the first read of a new billing day
// fails, no billing series are served (the snapshot is yesterday's), as
// before a first success: the retry comes within a minute, not an interval.
func TestFailedNewDayRetriesSoon(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	days, _ := novemberDays(2, 1)
	e := newEnv(t, newStub(days), time.Date(2026, 11, 1, 23, 59, 0, 0, loc), nil)
	require.NoError(t, e.r.Refresh(context.Background()))
	e.clock.Set(time.Date(2026, 11, 2, 0, 0, 1, 0, loc))
	e.src.setFailure(&failure{page: 1, err: errors.New("HTTP 503")})
	require.Error(t, e.r.Refresh(context.Background()))
	require.Empty(t, gatherBilling(t, e.c)["fptcloud_billing_cost_vnd"], "nothing billing is served")
	assert.LessOrEqual(t, e.r.nextWait(e.r.todayStarted, e.clock.Now()), notReadyRetry)
}

// slowLoadStore holds nothing and takes a second of the clock per Load,
// as a large month cache read at start does.
type slowLoadStore struct {
	failingStore
	clock *fakeClock
}

func (s *slowLoadStore) Load(billing.Date) (store.Day, bool, error) {
	s.clock.Add(time.Second)
	return store.Day{}, false, nil
}

// TestStartJustBeforeMidnightReadsTheNewDay: a start whose month cache
// loads until after billing midnight reads the new day, not the one that
// has just ended (which nothing would serve).
func TestStartJustBeforeMidnightReadsTheNewDay(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	days, _ := novemberDays(29, 1)
	st := &slowLoadStore{failingStore: failingStore{freed: true}}
	e := newEnv(t, newStub(days), time.Date(2026, 11, 28, 23, 59, 50, 0, loc), func(c *Config) { c.Store = st })
	st.clock = e.clock
	require.NoError(t, e.r.Refresh(context.Background()))
	require.Equal(t, 29, e.clock.Now().In(loc).Day(), "the load ran past midnight")
	assert.Equal(t, billing.Date{Year: 2026, Month: 11, Day: 29}, e.r.today.day, "the day read as today")
	assert.NotEmpty(t, gatherBilling(t, e.c)["fptcloud_billing_cost_vnd"], "today's cost is served")
}
