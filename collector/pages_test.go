package collector

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// TestDayReadOnePagePerStep: a day's read makes one request per step, the
// filters' queries one after the other, so that other work fits between
// two pages; it names the day and the filter of a failure.
func TestDayReadOnePagePerStep(t *testing.T) {
	t.Parallel()
	src := newStub(map[string][]fptapi.Bill{"2026-11-02": {row(setA, 1), row(setA, 2), row(setB, 3), row(setC, 4), row(setB, 5)}})
	loc := testhelp.HCM(t)
	day := billing.Date{Year: 2026, Month: time.November, Day: 2}
	filters := []fptapi.Filter{{ServiceType: setA.Service}, {ServiceType: setB.Service}}
	var rows []float64
	d := &dayRead{src: src, loc: loc, day: day, filters: filters, add: func(page []fptapi.Bill) {
		for _, b := range page {
			rows = append(rows, b.TotalPrice)
		}
	}}
	var steps int
	for {
		done, err := d.step(context.Background())
		require.NoError(t, err)
		steps++
		if done {
			break
		}
		// Another query between two pages, as today's read is.
		require.NoError(t, src.Bills(context.Background(), day.Start(loc), fptapi.Filter{}, func([]fptapi.Bill) error { return nil }))
	}
	assert.Equal(t, []float64{1, 2, 3, 5}, rows)
	assert.Equal(t, readStats{rows: 4, pages: 2}, d.st)
	assert.Equal(t, 4, steps, "a page of each filter, and the end of each query")

	src.setFailure(&failure{day: "2026-11-02", page: 2, err: errors.New("HTTP 500")})
	d = &dayRead{src: src, loc: loc, day: day, filters: filters[1:], add: func([]fptapi.Bill) {}}
	done, err := d.step(context.Background())
	require.NoError(t, err)
	require.False(t, done)
	done, err = d.step(context.Background())
	assert.True(t, done)
	require.ErrorContains(t, err, "bills of 2026-11-02 (")
	require.ErrorContains(t, err, "storage")
	assert.ErrorContains(t, err, "HTTP 500")
}

// TestDayReadClose: a read given up between two pages ends its query.
func TestDayReadClose(t *testing.T) {
	t.Parallel()
	src := newStub(map[string][]fptapi.Bill{"2026-11-02": {row(setA, 1), row(setA, 2), row(setA, 3)}})
	d := &dayRead{src: src, loc: testhelp.HCM(t), day: billing.Date{Year: 2026, Month: time.November, Day: 2}, filters: QueryFilters(nil), add: func([]fptapi.Bill) {}}
	done, err := d.step(context.Background())
	require.NoError(t, err)
	require.False(t, done)
	assert.EqualValues(t, 1, src.inFlight.Load(), "the query waits for the next step")
	d.close()
	assert.Zero(t, src.inFlight.Load(), "and ends when the read is given up")
}
