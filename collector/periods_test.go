package collector

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// periodDataset has one row of setA a day from January to May 2026, costing
// the day of the year plus a quarter, and one of setB on the 28th of each
// month (the last day of February), costing 1000.
func periodDataset() map[string][]fptapi.Bill {
	days := make(map[string][]fptapi.Bill)
	for d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); d.Month() < 6; d = d.AddDate(0, 0, 1) {
		rows := []fptapi.Bill{row(setA, dayCostOf(d))}
		if d.Day() == 28 {
			rows = append(rows, row(setB, 1000))
		}
		days[d.Format(time.DateOnly)] = rows
	}
	return days
}

func dayCostOf(d time.Time) float64 { return float64(d.YearDay()) + 0.25 }

// monthCostOf is setA's cost of a whole month.
func monthCostOf(year int, month time.Month) float64 {
	sum := 0.0
	for d := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC); d.Month() == month; d = d.AddDate(0, 0, 1) {
		sum += dayCostOf(d)
	}
	return sum
}

func num(v float64) string { return " " + strconv.FormatFloat(v, 'g', -1, 64) }

// TestClosedPeriods: yesterday's cost and the previous month's, across
// months of 28, 30 and 31 days, inside and after the late window.
func TestClosedPeriods(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	at := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, loc) }
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name                string
		now                 time.Time
		yesterday, previous []string
	}{
		{"mid-March: February's 28 days", at(time.March, 10, 10),
			[]string{lblA + num(dayCostOf(day(time.March, 9)))},
			[]string{lblA + num(monthCostOf(2026, time.February)), lblB + " 1000"}},
		{"April the 1st after the late window: March's 31 days, yesterday the 31st", at(time.April, 1, 7),
			[]string{lblA + num(dayCostOf(day(time.March, 31)))},
			[]string{lblA + num(monthCostOf(2026, time.March)), lblB + " 1000"}},
		{"May the 1st after the late window: April's 30 days", at(time.May, 1, 7),
			[]string{lblA + num(dayCostOf(day(time.April, 30)))},
			[]string{lblA + num(monthCostOf(2026, time.April)), lblB + " 1000"}},
		{"March the 1st in the late window: the previous month waits, so does yesterday", at(time.March, 1, 3), nil, nil},
		{"March the 1st after it: yesterday is February the 28th", at(time.March, 1, 7),
			[]string{lblA + num(dayCostOf(day(time.February, 28))), lblB + " 1000"},
			[]string{lblA + num(monthCostOf(2026, time.February)), lblB + " 1000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, newStub(periodDataset()), tt.now, func(c *Config) { c.PreviousMonth = true })
			require.NoError(t, e.r.Refresh(context.Background()))
			want, names := expo(t, map[string][]string{
				"fptcloud_billing_yesterday_cost_vnd":      tt.yesterday,
				"fptcloud_billing_previous_month_cost_vnd": tt.previous,
			})
			require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
		})
	}
}

// TestClosedPeriodsRollover runs one refresher from the end of March into
// April: yesterday follows the days, is read again in its late window, and
// the previous month turns from February to March once March's last day
// is final; then it is not read again.
func TestClosedPeriodsRollover(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	src := newStub(periodDataset())
	e := newEnv(t, src, time.Date(2026, 3, 31, 22, 0, 0, 0, loc), func(c *Config) { c.PreviousMonth = true })
	require.NoError(t, e.r.Refresh(context.Background()))
	value := func(name string) map[string]float64 { return gatherBilling(t, e.c)[name] }
	feb := seriesKey(keyOf(&setA))
	assert.InDelta(t, monthCostOf(2026, time.February), value("fptcloud_billing_previous_month_cost_vnd")[feb], 1e-9)

	// Just after midnight: yesterday (the 31st) is in the late window; a
	// late row raises it at the next refresh.
	e.clock.Set(time.Date(2026, 4, 1, 0, 0, 5, 0, loc))
	require.NoError(t, e.r.Refresh(context.Background()))
	assert.Nil(t, value("fptcloud_billing_previous_month_cost_vnd"), "February is gone; March waits for its late window")
	src.setDay("2026-03-31", append(periodDataset()["2026-03-31"], row(setA, 0.5)))
	e.clock.Set(time.Date(2026, 4, 1, 7, 0, 0, 0, loc))
	src.takeCalls()
	require.NoError(t, e.r.Refresh(context.Background()))
	calls := src.takeCalls()
	assert.Equal(t, 1, calls["2026-04-01"])
	assert.Len(t, calls, 1+31, "today, then every day of March")
	assert.InDelta(t, dayCostOf(time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC))+0.5, value("fptcloud_billing_yesterday_cost_vnd")[feb], 1e-9)
	assert.InDelta(t, monthCostOf(2026, time.March)+0.5, value("fptcloud_billing_previous_month_cost_vnd")[feb], 1e-9)

	// Read once: later refreshes read today only.
	e.clock.Add(15 * time.Minute)
	require.NoError(t, e.r.Refresh(context.Background()))
	assert.Equal(t, map[string]int{"2026-04-01": 1}, src.takeCalls())
}
