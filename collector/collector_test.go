package collector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// Label sets of the known dataset: values as an API could send them, with
// quotes, backslashes, newlines, Vietnamese text and empty values.
var (
	setA = fptapi.Bill{VPCID: "vpc-1", VPCName: `Mạng "chính"`, Service: "instance", BillingGroupName: "Nhóm Hà Nội", Tag: "env=prod"}
	setB = fptapi.Bill{VPCID: "vpc-2", VPCName: `back\slash`, Service: "storage", BillingGroupName: "", Tag: "line1\nline2"}
	setC = fptapi.Bill{VPCID: "vpc-3", VPCName: "VPC Đà Nẵng", Service: "s3", BillingGroupName: "grp", Tag: ""}
	setD = fptapi.Bill{VPCID: "vpc-1", VPCName: `Mạng "chính"`, Service: "ip", BillingGroupName: "Nhóm Hà Nội", Tag: ""}
)

// Their label strings in the exposition format.
const (
	lblA = `{billing_group="Nhóm Hà Nội",service="instance",tag="env=prod",vpc_id="vpc-1",vpc_name="Mạng \"chính\""}`
	lblB = `{billing_group="",service="storage",tag="line1\nline2",vpc_id="vpc-2",vpc_name="back\\slash"}`
	lblC = `{billing_group="grp",service="s3",tag="",vpc_id="vpc-3",vpc_name="VPC Đà Nẵng"}`
	lblD = `{billing_group="Nhóm Hà Nội",service="ip",tag="",vpc_id="vpc-1",vpc_name="Mạng \"chính\""}`
)

func row(set fptapi.Bill, cost float64) fptapi.Bill {
	set.TotalPrice = cost
	return set
}

func usageRow(set fptapi.Bill, cost, vcpu, ram, disk, cpuQty, ramQty, diskQty float64) fptapi.Bill {
	set.TotalPrice, set.VCPU, set.RAM, set.Disk = cost, vcpu, ram, disk
	set.CPUQuantity, set.RAMQuantity, set.DiskQuantity = cpuQty, ramQty, diskQty
	return set
}

// knownDataset is three days of November 2026; the 3rd is "today".
func knownDataset() map[string][]fptapi.Bill {
	return map[string][]fptapi.Bill{
		"2026-11-01": {row(setA, 1000.5), row(setB, 200)},
		"2026-11-02": {row(setA, 1500), row(setC, 50)},
		"2026-11-03": {
			usageRow(setA, 100.25, 2, 4, 50, 2, 4, 50),
			usageRow(setA, 50, 1, 2, 0, 1, 2, 0),
			usageRow(setB, 10, 0, 0, 100, 0, 0, 100),
			row(setD, 0),
		},
	}
}

func TestCollectKnownDataset(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	src := newStub(knownDataset())
	src.loc = loc
	e := newEnv(t, src, time.Date(2026, 11, 3, 10, 0, 0, 0, loc), nil)
	require.NoError(t, e.r.Refresh(context.Background()))

	want, names := expo(t, map[string][]string{
		"fptcloud_billing_cost_vnd":                  {lblA + " 150.25", lblB + " 10", lblD + " 0"},
		"fptcloud_billing_month_to_date_cost_vnd":    {lblA + " 2650.75", lblB + " 210", lblC + " 50", lblD + " 0"},
		"fptcloud_billing_vcpus":                     {lblA + " 3", lblB + " 0", lblD + " 0"},
		"fptcloud_billing_ram_bytes":                 {lblA + " 6.442450944e+09", lblB + " 0", lblD + " 0"},
		"fptcloud_billing_disk_bytes":                {lblA + " 5.36870912e+10", lblB + " 1.073741824e+11", lblD + " 0"},
		"fptcloud_billing_cpu_quantity":              {lblA + " 3", lblB + " 0", lblD + " 0"},
		"fptcloud_billing_ram_quantity":              {lblA + " 6", lblB + " 0", lblD + " 0"},
		"fptcloud_billing_disk_quantity":             {lblA + " 50", lblB + " 100", lblD + " 0"},
		"fptcloud_exporter_refresh_success":          {" 1"},
		"fptcloud_exporter_last_refresh_rows":        {" 4"},
		"fptcloud_exporter_last_refresh_pages":       {" 2"}, // today's, in pages of 2
		"fptcloud_exporter_closed_day_reads_missing": {" 0"},
		"fptcloud_exporter_closed_day_failed":        nil,
		"fptcloud_exporter_label_sets":               {" 4"},
		"fptcloud_exporter_folded_label_sets":        {" 0"},
		"fptcloud_exporter_token_rejected":           {" 0"},
		"fptcloud_exporter_refresh_failures_total":   {" 0"},
		"fptcloud_exporter_data_age_seconds":         {" 0"},
		"fptcloud_exporter_last_success_timestamp_seconds": {
			" " + strconv.FormatInt(time.Date(2026, 11, 3, 3, 0, 0, 0, time.UTC).Unix(), 10)},
		// No budget configured: no budget series.
		"fptcloud_budget_daily_vnd":                 nil,
		"fptcloud_budget_monthly_vnd":               nil,
		"fptcloud_budget_billing_group_daily_vnd":   nil,
		"fptcloud_budget_billing_group_monthly_vnd": nil,
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
	assert.True(t, e.r.Ready())
	assert.Contains(t, e.logs.String(), `level=info msg="first refresh succeeded: serving today's bills" day=2026-11-03 rows=4 pages=2`)
	assert.Contains(t, e.logs.String(), `level=info msg="month-to-date complete: every closed day is in" closed_days=2`)
}

func TestCollectBeforeFirstRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newStub(knownDataset()), time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t)), nil)
	assert.False(t, e.r.Ready())
	// A first refresh still reading is not a failure: no refresh_success.
	want, names := expo(t, map[string][]string{
		"fptcloud_exporter_refresh_success":                nil,
		"fptcloud_exporter_closed_day_reads_missing":       nil,
		"fptcloud_exporter_last_success_timestamp_seconds": nil,
		"fptcloud_exporter_data_age_seconds":               nil,
		"fptcloud_exporter_label_sets":                     {" 0"},
		"fptcloud_billing_cost_vnd":                        nil,
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
	assert.Empty(t, e.src.takeCalls(), "a scrape never calls the source")
}

func TestFilters(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	src := newStub(map[string][]fptapi.Bill{"2026-11-01": {row(setA, 1), row(setB, 2), row(setC, 4), row(setD, 8)}})
	e := newEnv(t, src, time.Date(2026, 11, 1, 12, 0, 0, 0, loc), func(c *Config) {
		c.Filters = []fptapi.Filter{{ServiceType: "instance"}, {ServiceType: "s3"}, {ServiceType: "instance"}}
	})
	require.NoError(t, e.r.Refresh(context.Background()))
	want, names := expo(t, map[string][]string{
		"fptcloud_billing_cost_vnd": {lblA + " 1", lblC + " 4"},
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
	assert.Equal(t, map[string]int{"2026-11-01": 2}, src.takeCalls(), "one query per distinct filter")
}

func TestRollover(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	src := newStub(map[string][]fptapi.Bill{
		"2026-10-30": {row(setA, 1)},
		"2026-10-31": {row(setA, 10)},
		"2026-11-01": {row(setA, 100)},
		"2026-11-02": {row(setA, 1000)},
		"2026-12-01": {row(setA, 5)},
		"2026-12-05": {row(setA, 7)},
	})
	e := newEnv(t, src, time.Time{}, func(c *Config) { c.MaxAge = 25 * time.Hour })
	days := func(from, to string) map[string]int {
		m := make(map[string]int)
		d, err := time.Parse(time.DateOnly, from)
		require.NoError(t, err)
		for ; d.Format(time.DateOnly) <= to; d = d.AddDate(0, 0, 1) {
			m[d.Format(time.DateOnly)] = 1
		}
		return m
	}
	steps := []struct {
		name      string
		at        time.Time
		cost, mtd string
		calls     map[string]int
		cached    int // closed days in the cache afterwards
	}{
		{"last minute of October", time.Date(2026, 10, 31, 23, 59, 0, 0, loc), "10", "11", days("2026-10-01", "2026-10-31"), 30},
		// The 1st: month-to-date restarts; October is neither fetched nor kept.
		{"midnight of the 1st", time.Date(2026, 11, 1, 0, 0, 0, 0, loc), "100", "100", days("2026-11-01", "2026-11-01"), 0},
		{"the 2nd, in the late window", time.Date(2026, 11, 2, 0, 30, 0, 0, loc), "1000", "1100", days("2026-11-01", "2026-11-02"), 1},
		{"the 2nd, after the late window", time.Date(2026, 11, 2, 12, 0, 0, 0, loc), "1000", "1100", days("2026-11-01", "2026-11-02"), 1},
		// A jump to a later day of another month: November's cached 1st is
		// not taken for December's.
		{"a month later", time.Date(2026, 12, 5, 12, 0, 0, 0, loc), "7", "12", days("2026-12-01", "2026-12-05"), 4},
	}
	for _, s := range steps {
		e.clock.Set(s.at)
		require.NoError(t, e.r.Refresh(context.Background()), s.name)
		assert.Equal(t, s.calls, src.takeCalls(), s.name)
		assert.Equal(t, s.cached, e.r.cache.days(), s.name)
		want, names := expo(t, map[string][]string{
			"fptcloud_billing_cost_vnd":               {lblA + " " + s.cost},
			"fptcloud_billing_month_to_date_cost_vnd": {lblA + " " + s.mtd},
		})
		require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...), s.name)
	}

	// A snapshot of yesterday is not served as today's after midnight, even
	// though it is younger than MaxAge: its "today" is over.
	e.clock.Set(time.Date(2026, 12, 6, 0, 0, 5, 0, loc))
	want, names := expo(t, map[string][]string{
		"fptcloud_billing_cost_vnd":          nil,
		"fptcloud_exporter_data_age_seconds": nil,
		"fptcloud_exporter_refresh_success":  {" 1"},
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
}

func TestClosedDayCache(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	src := newStub(map[string][]fptapi.Bill{"2026-11-04": {row(setA, 4)}, "2026-11-05": {row(setA, 5)}})
	e := newEnv(t, src, time.Time{}, nil) // LateWindow defaults to 6h
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, loc) }
	late := func(rows ...fptapi.Bill) func() { return func() { src.setDay("2026-11-05", rows) } }
	steps := []struct {
		at     time.Time
		before func()
		calls  map[string]int
		mtd    string
	}{
		{at(5, 10, 0), nil, map[string]int{"2026-11-01": 1, "2026-11-02": 1, "2026-11-03": 1, "2026-11-04": 1, "2026-11-05": 1}, "9"},
		{at(5, 10, 15), nil, map[string]int{"2026-11-05": 1}, "9"},
		{at(5, 23, 59), nil, map[string]int{"2026-11-05": 1}, "9"},
		// After midnight yesterday (the 5th) is read again for late rows...
		{at(6, 0, 1), nil, map[string]int{"2026-11-05": 1, "2026-11-06": 1}, "9"},
		{at(6, 3, 0), late(row(setA, 5), row(setA, 0.5)), map[string]int{"2026-11-05": 1, "2026-11-06": 1}, "9.5"},
		{at(6, 5, 59), nil, map[string]int{"2026-11-05": 1, "2026-11-06": 1}, "9.5"},
		// ...once more as the late window closes, to catch its last rows...
		{at(6, 6, 5), late(row(setA, 5), row(setA, 0.5), row(setA, 0.25)), map[string]int{"2026-11-05": 1, "2026-11-06": 1}, "9.75"},
		// ...and never again: rows that come later are not seen.
		{at(6, 6, 20), late(row(setA, 5), row(setA, 0.5), row(setA, 0.25), row(setA, 100)), map[string]int{"2026-11-06": 1}, "9.75"},
		{at(6, 23, 0), nil, map[string]int{"2026-11-06": 1}, "9.75"},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		e.clock.Set(s.at)
		require.NoError(t, e.r.Refresh(context.Background()))
		assert.Equal(t, s.calls, src.takeCalls(), "refresh at %s", s.at)
		want, names := expo(t, map[string][]string{"fptcloud_billing_month_to_date_cost_vnd": {lblA + " " + s.mtd}})
		require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...), "refresh at %s", s.at)
	}
}

func TestFailedRefreshKeepsServing(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, loc)
	lastSuccess := " " + strconv.FormatInt(t0.Unix(), 10)
	good := []string{lblA + " 150.25", lblB + " 10", lblD + " 0"}
	apiErr := errors.New("HTTP 503: service unavailable")
	tests := []struct {
		name         string
		fail         failure
		tokenRejects string
		logLevel     string
	}{
		{"today's first page", failure{day: "2026-11-03", page: 1, err: apiErr}, " 0", "warn"},
		{"today's page 2 after page 1 was read", failure{day: "2026-11-03", page: 2, err: apiErr}, " 0", "warn"},
		{"token rejected", failure{page: 1, err: fmt.Errorf("bills: %w", fptapi.ErrUnauthorized)}, " 1", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newStub(knownDataset())
			e := newEnv(t, src, t0, func(c *Config) { c.MaxAge = 2 * time.Hour })
			require.NoError(t, e.r.Refresh(context.Background()))

			// The API's data change, then a refresh fails part-way: nothing
			// of the new data may show.
			src.setDay("2026-11-01", []fptapi.Bill{row(setA, 9e9)})
			src.setDay("2026-11-03", []fptapi.Bill{row(setA, 1), row(setA, 2), row(setA, 3), row(setB, 4)})
			e.r.cache = monthCache{} // make the refresh read the closed days too
			src.setFailure(&tt.fail)
			for i := 1; i <= 2; i++ {
				e.clock.Set(t0.Add(time.Duration(i) * time.Hour))
				err := e.r.Refresh(context.Background())
				require.ErrorIs(t, err, tt.fail.err)
				assert.Contains(t, err.Error(), "bills of 2026-11-")
			}
			want, names := expo(t, map[string][]string{
				"fptcloud_billing_cost_vnd":                        good,
				"fptcloud_billing_month_to_date_cost_vnd":          {lblA + " 2650.75", lblB + " 210", lblC + " 50", lblD + " 0"},
				"fptcloud_exporter_refresh_success":                {" 0"},
				"fptcloud_exporter_refresh_failures_total":         {" 2"},
				"fptcloud_exporter_token_rejected":                 {tt.tokenRejects},
				"fptcloud_exporter_last_success_timestamp_seconds": {lastSuccess},
				"fptcloud_exporter_data_age_seconds":               {" 7200"},
			})
			require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
			assert.Contains(t, e.logs.String(), "level="+tt.logLevel+` msg="refresh failed"`)
			assert.Contains(t, e.logs.String(), tt.fail.err.Error())

			// The API heals: the next refresh publishes the new data.
			src.setFailure(nil)
			require.NoError(t, e.r.Refresh(context.Background()))
			want, names = expo(t, map[string][]string{
				"fptcloud_billing_cost_vnd":         {lblA + " 6", lblB + " 4"},
				"fptcloud_exporter_refresh_success": {" 1"},
				"fptcloud_exporter_token_rejected":  {" 0"},
			})
			require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
		})
	}
}

func TestMaxAgeExpiry(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, loc)
	src := newStub(knownDataset())
	e := newEnv(t, src, t0, func(c *Config) { c.MaxAge = time.Hour })
	require.NoError(t, e.r.Refresh(context.Background()))
	src.setFailure(&failure{page: 1, err: errors.New("down")})

	tests := []struct {
		after   time.Duration
		served  bool
		dataAge string
	}{
		{30 * time.Minute, true, " 1800"},
		{time.Hour, true, " 3600"},
		{time.Hour + time.Second, false, ""},
		{5 * time.Hour, false, ""},
	}
	for _, tt := range tests {
		e.clock.Set(t0.Add(tt.after))
		require.Error(t, e.r.Refresh(context.Background()))
		samples := map[string][]string{
			"fptcloud_billing_cost_vnd":               nil,
			"fptcloud_billing_month_to_date_cost_vnd": nil,
			"fptcloud_exporter_data_age_seconds":      nil,
			"fptcloud_exporter_label_sets":            {" 0"},
			// Self-metrics stay.
			"fptcloud_exporter_refresh_success":                {" 0"},
			"fptcloud_exporter_last_success_timestamp_seconds": {" " + strconv.FormatInt(t0.Unix(), 10)},
			"fptcloud_billing_month_length_seconds":            {" 2.592e+06"},
		}
		if tt.served {
			samples["fptcloud_billing_cost_vnd"] = []string{lblA + " 150.25", lblB + " 10", lblD + " 0"}
			samples["fptcloud_billing_month_to_date_cost_vnd"] = []string{lblA + " 2650.75", lblB + " 210", lblC + " 50", lblD + " 0"}
			samples["fptcloud_exporter_data_age_seconds"] = []string{tt.dataAge}
			samples["fptcloud_exporter_label_sets"] = []string{" 4"}
		}
		want, names := expo(t, samples)
		require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...), "after %s", tt.after)
	}
}

func TestBudgetsAndCalendar(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	// 18:00 UTC on 28 February is 01:00 on 1 March in Vietnam: the billing
	// month is March (31 days) while UTC is still in February (28 days).
	now := time.Date(2027, 2, 28, 18, 0, 0, 0, time.UTC)
	src := newStub(map[string][]fptapi.Bill{"2027-02-28": {row(setA, 1e6)}, "2027-03-01": {row(setA, 7)}})
	e := newEnv(t, src, now, func(c *Config) {
		c.Budgets = Budgets{
			Daily: 1e6, Monthly: 3e7,
			GroupDaily:   map[string]float64{"Nhóm Hà Nội": 5e5, "grp": 1000.5},
			GroupMonthly: map[string]float64{"grp": 2e4},
		}
	})
	require.NoError(t, e.r.Refresh(context.Background()))
	assert.Equal(t, map[string]int{"2027-03-01": 1}, src.takeCalls(), "February is not part of March's month-to-date")

	ratio := func(x float64) string { return " " + strconv.FormatFloat(x, 'g', -1, 64) }
	want, names := expo(t, map[string][]string{
		"fptcloud_billing_month_length_seconds":     {" 2.6784e+06"},
		"fptcloud_billing_month_elapsed_ratio":      {ratio(1.0 / (31 * 24))},
		"fptcloud_billing_day_elapsed_ratio":        {ratio(1.0 / 24)},
		"fptcloud_billing_month_to_date_cost_vnd":   {lblA + " 7"},
		"fptcloud_budget_daily_vnd":                 {" 1e+06"},
		"fptcloud_budget_monthly_vnd":               {" 3e+07"},
		"fptcloud_budget_billing_group_daily_vnd":   {`{billing_group="Nhóm Hà Nội"} 500000`, `{billing_group="grp"} 1000.5`},
		"fptcloud_budget_billing_group_monthly_vnd": {`{billing_group="grp"} 20000`},
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))

	// Calendar gauges follow the scrape time, not the refresh time.
	e.clock.Set(time.Date(2027, 3, 16, 12, 0, 0, 0, loc))
	want, names = expo(t, map[string][]string{
		"fptcloud_billing_month_elapsed_ratio": {ratio((15*24 + 12) / (31.0 * 24))},
		"fptcloud_billing_day_elapsed_ratio":   {" 0.5"},
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
}

func TestFolding(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	mk := func(i int) fptapi.Bill {
		return fptapi.Bill{VPCID: fmt.Sprintf("vpc-%d", i), VPCName: "v", Service: "instance", BillingGroupName: "g", Tag: ""}
	}
	lbl := func(i int) string {
		return fmt.Sprintf(`{billing_group="g",service="instance",tag="",vpc_id="vpc-%d",vpc_name="v"}`, i)
	}
	const other = `{billing_group="__other__",service="__other__",tag="__other__",vpc_id="__other__",vpc_name="__other__"}`
	src := newStub(map[string][]fptapi.Bill{
		// vpc-5 has cost on the 1st only: it ranks by month-to-date cost.
		"2026-11-01": {row(mk(5), 1000)},
		"2026-11-02": {
			usageRow(mk(1), 1, 1, 0, 0, 0, 0, 0), usageRow(mk(2), 20, 2, 0, 0, 0, 0, 0),
			usageRow(mk(3), 300, 4, 0, 0, 0, 0, 0), usageRow(mk(4), 2, 8, 0, 0, 0, 0, 0),
		},
	})
	e := newEnv(t, src, time.Date(2026, 11, 2, 9, 0, 0, 0, loc), func(c *Config) { c.MaxSeries = 3 })
	for range 2 {
		require.NoError(t, e.r.Refresh(context.Background()))
	}
	want, names := expo(t, map[string][]string{
		"fptcloud_billing_cost_vnd":               {lbl(3) + " 300", other + " 23"},
		"fptcloud_billing_month_to_date_cost_vnd": {lbl(5) + " 1000", lbl(3) + " 300", other + " 23"},
		"fptcloud_billing_vcpus":                  {lbl(3) + " 4", other + " 11"},
		"fptcloud_exporter_label_sets":            {" 3"},
		"fptcloud_exporter_folded_label_sets":     {" 3"},
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
	assert.Equal(t, 2, strings.Count(e.logs.String(), "level=warn"), "one warning per refresh")
	assert.Contains(t, e.logs.String(), "max_series=3 folded=3")
}

func TestCombine(t *testing.T) {
	t.Parallel()
	k := func(id string) billing.Labels { return billing.Labels{VPCID: id} }
	v := func(x float64) vnd { return vnd{sum: x} }
	other := billing.Labels{VPCID: otherLabel, VPCName: otherLabel, Service: otherLabel, BillingGroup: otherLabel, Tag: otherLabel}
	tests := []struct {
		name       string
		today      dayUsage
		closed     []dayCost
		maxSeries  int
		want       map[billing.Labels]series
		wantFolded int
	}{
		{
			name:      "sums today and closed days",
			today:     dayUsage{k("a"): {cost: v(1), vcpu: 2}},
			closed:    []dayCost{{k("a"): v(10), k("b"): v(5)}, {k("b"): v(1)}},
			maxSeries: 10,
			want: map[billing.Labels]series{
				k("a"): {key: k("a"), today: usage{cost: v(1), vcpu: 2}, hasToday: true, mtd: v(11)},
				k("b"): {key: k("b"), mtd: v(6)},
			},
		},
		{
			name:      "max series 1 folds everything",
			today:     dayUsage{k("a"): {cost: v(1), ram: 3}},
			closed:    []dayCost{{k("b"): v(5)}},
			maxSeries: 1,
			want: map[billing.Labels]series{
				other: {key: other, today: usage{cost: v(1), ram: 3}, hasToday: true, mtd: v(6)},
			},
			wantFolded: 2,
		},
		{
			name:      "ties fold by key, deterministically",
			today:     dayUsage{k("a"): {cost: v(1)}, k("b"): {cost: v(1)}, k("c"): {cost: v(1)}},
			maxSeries: 2,
			want: map[billing.Labels]series{
				k("a"): {key: k("a"), today: usage{cost: v(1)}, hasToday: true, mtd: v(1)},
				other:  {key: other, today: usage{cost: v(2)}, hasToday: true, mtd: v(2)},
			},
			wantFolded: 2,
		},
		{
			name:      "a real __other__ label set merges into the fold",
			today:     dayUsage{other: {cost: v(100)}, k("a"): {cost: v(50)}, k("b"): {cost: v(1)}},
			maxSeries: 2,
			want: map[billing.Labels]series{
				k("a"): {key: k("a"), today: usage{cost: v(50)}, hasToday: true, mtd: v(50)},
				other:  {key: other, today: usage{cost: v(101)}, hasToday: true, mtd: v(101)},
			},
			wantFolded: 1,
		},
		{
			name:      "invalid UTF-8 is replaced and merged",
			today:     dayUsage{{VPCName: "a\xff"}: {cost: v(1)}, {VPCName: "a\xfe"}: {cost: v(2)}},
			maxSeries: 10,
			want: map[billing.Labels]series{
				{VPCName: "a\uFFFD"}: {key: billing.Labels{VPCName: "a\uFFFD"}, today: usage{cost: v(3)}, hasToday: true, mtd: v(3)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, folded := combine(tt.today, tt.closed, nil, nil, tt.maxSeries)
			byKey := make(map[billing.Labels]series)
			for _, s := range got {
				byKey[s.key] = s
			}
			assert.Len(t, got, len(byKey), "duplicate label sets")
			assert.Equal(t, tt.want, byKey)
			assert.Equal(t, tt.wantFolded, folded)
		})
	}
}

// TestScrapesDuringRefresh scrapes concurrently while refreshes are held
// inside the source; run with -race. Every scrape sees one whole snapshot.
func TestScrapesDuringRefresh(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	src := newStub(knownDataset())
	e := newEnv(t, src, time.Date(2026, 11, 3, 10, 0, 0, 0, loc), nil)
	require.NoError(t, e.r.Refresh(context.Background()))

	src.setDay("2026-11-03", []fptapi.Bill{row(setA, 1), row(setB, 2)})
	gate, entry := make(chan struct{}), make(chan struct{})
	src.mu.Lock()
	src.gate, src.entry = gate, entry
	src.mu.Unlock()

	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(e.c))
	oldWant, names := expo(t, map[string][]string{"fptcloud_billing_cost_vnd": {lblA + " 150.25", lblB + " 10", lblD + " 0"}})
	newWant, _ := expo(t, map[string][]string{"fptcloud_billing_cost_vnd": {lblA + " 1", lblB + " 2"}})

	// Two refreshes at once: the second waits for the first.
	var refreshes sync.WaitGroup
	for range 2 {
		refreshes.Go(func() { assert.NoError(t, e.r.Refresh(context.Background())) })
	}
	<-entry // the first refresh is inside the source
	var scrapes sync.WaitGroup
	for range 8 {
		scrapes.Go(func() {
			for range 50 {
				err := testutil.GatherAndCompare(reg, strings.NewReader(oldWant), names...)
				if err != nil {
					assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(newWant), names...))
				}
			}
		})
	}
	// Scrapes through promhttp in both formats share the prebuilt samples.
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	for _, accept := range []string{"text/plain", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"} {
		scrapes.Go(func() {
			for range 50 {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				req.Header.Set("Accept", accept)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				assert.Equal(t, http.StatusOK, w.Code)
			}
		})
	}
	scrapes.Wait()
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(oldWant), names...), "nothing published mid-refresh")
	close(gate)
	go func() { // drain the entries of the remaining queries
		for range entry {
		}
	}()
	refreshes.Wait()
	close(entry)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(newWant), names...))
	assert.EqualValues(t, 1, src.maxInFlight.Load(), "refreshes never overlap")

	// Refreshes publishing while scrapes run: each scrape sees one whole
	// snapshot, the old or the new.
	src.mu.Lock()
	src.gate, src.entry = nil, nil
	src.mu.Unlock()
	stop := make(chan struct{})
	var refresher sync.WaitGroup
	refresher.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				src.setDay("2026-11-03", knownDataset()["2026-11-03"])
			} else {
				src.setDay("2026-11-03", []fptapi.Bill{row(setA, 1), row(setB, 2)})
			}
			assert.NoError(t, e.r.Refresh(context.Background()))
		}
	})
	for range 4 {
		scrapes.Go(func() {
			for range 100 {
				mfs, err := reg.Gather()
				if !assert.NoError(t, err) { //nolint:testifylint // require must not stop the test from this goroutine
					return
				}
				once := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return mfs, nil })
				if testutil.GatherAndCompare(once, strings.NewReader(oldWant), names...) != nil {
					assert.NoError(t, testutil.GatherAndCompare(once, strings.NewReader(newWant), names...))
				}
			}
		})
	}
	scrapes.Wait()
	close(stop)
	refresher.Wait()
}

func TestRun(t *testing.T) {
	t.Parallel()
	src := newStub(knownDataset())
	e := newEnv(t, src, time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t)), func(c *Config) {
		c.RefreshInterval = time.Millisecond // real timer; the fake clock stands still
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.r.Run(ctx); close(done) }()
	require.Eventually(t, func() bool { return src.takeCalls()["2026-11-03"] > 0 && e.r.Ready() }, patience(t), time.Millisecond)
	require.Eventually(t, func() bool { return src.takeCalls()["2026-11-03"] > 0 }, patience(t), time.Millisecond, "refreshes again")
	cancel()
	select {
	case <-done:
	case <-time.After(patience(t)):
		t.Fatal("Run did not return after cancel")
	}
	assert.NotContains(t, e.logs.String(), "refresh failed", "a canceled refresh is not a failure")
}

func TestAPIRequestCounter(t *testing.T) {
	t.Parallel()
	c := NewAPIRequestCounter()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				c.Observe(fptapi.RequestInfo{Endpoint: fptapi.EndpointBills, Code: "200"})
			}
			c.Observe(fptapi.RequestInfo{Endpoint: fptapi.EndpointBills, Code: "429", Retry: 1})
		})
	}
	wg.Wait()
	c.Observe(fptapi.RequestInfo{Endpoint: fptapi.EndpointBillInfo, Code: "timeout"})

	e := newEnv(t, newStub(nil), time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t)), nil)
	want, names := expo(t, map[string][]string{"fptcloud_exporter_api_requests_total": {
		`{code="200",endpoint="bills"} 400`,
		`{code="429",endpoint="bills"} 4`,
		`{code="timeout",endpoint="bill_info"} 1`,
	}})
	require.NoError(t, testutil.CollectAndCompare(New(e.r, c), strings.NewReader(want), names...))
}

func TestNewRefresherConfig(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	src := newStub(nil)
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{"no source", Config{Location: loc}, "no bill source", nil},
		{"no location", Config{Source: src}, "no billing time zone", nil},
		{"defaults", Config{Source: src, Location: loc}, "", func(t *testing.T, c Config) {
			assert.Equal(t, DefaultRefreshInterval, c.RefreshInterval)
			assert.Equal(t, DefaultMaxAge, c.MaxAge)
			assert.Equal(t, DefaultMaxSeries, c.MaxSeries)
		}},
		{"default max age follows a long interval", Config{Source: src, Location: loc, RefreshInterval: time.Hour}, "", func(t *testing.T, c Config) {
			assert.Equal(t, 3*time.Hour, c.MaxAge)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRefresher(tt.cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, r.cfg)
		})
	}
}
