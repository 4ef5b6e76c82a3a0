package collector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// TestMonthCache: the month cache is plain data: closed days in, what
// month-to-date needs out, with no reader around it.
func TestMonthCache(t *testing.T) {
	t.Parallel()
	a, b := billing.Labels{VPCID: "a"}, billing.Labels{VPCID: "b"}
	today := billing.Date{Year: 2026, Month: time.November, Day: 5}
	var c monthCache
	assert.True(t, c.forDay(today), "a new month starts afresh")
	assert.Equal(t, []int{1, 2, 3, 4}, c.toRead(today))
	assert.Equal(t, 4, c.missing(today))

	c.store(1, dayCost{a: {sum: 1}}, nil, true)
	c.store(3, dayCost{a: {sum: 3}, b: {sum: 30}}, nil, false)
	c.store(4, dayCost{b: {sum: 4}}, nil, false)
	assert.Equal(t, 1, c.missing(today))
	assert.Equal(t, []int{2, 3, 4}, c.toRead(today), "the missing day first, then those not final")
	assert.Equal(t, dayCost{b: {sum: 4}}, c.yesterday(today))

	mtd := make(dayCost)
	costs, _ := c.closed()
	for _, d := range costs {
		mtd.merge(d)
	}
	assert.Equal(t, dayCost{a: {sum: 4}, b: {sum: 34}}, mtd)

	c.failed |= 1 << 2
	assert.Equal(t, []billing.Date{{Year: 2026, Month: time.November, Day: 2}}, c.failedDays())
	c.store(2, dayCost{}, nil, true)
	assert.Empty(t, c.failedDays(), "a day read clears its failure")
	assert.False(t, c.wasSeen(2), "a day without rows is not seen")
	assert.True(t, c.wasSeen(3))

	assert.False(t, c.forDay(today.AddDays(1)), "the next day keeps the month")
	assert.Equal(t, []int{5, 3, 4}, c.toRead(today.AddDays(1)), "the 5th is missing")
	assert.False(t, c.forDay(today.AddDays(-1)), "the clock went back a day: the days not before it go")
	assert.Equal(t, []int{3}, c.toRead(today.AddDays(-1)))
	assert.Nil(t, c.yesterday(today.AddDays(-1)), "the 4th is gone")
	assert.True(t, c.forDay(billing.Date{Year: 2026, Month: time.December, Day: 1}), "a new month")
	assert.Zero(t, c.days())
}
