package collector

import (
	"maps"
	"math/bits"
	"slices"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// monthCache holds the month-to-date contribution of the current month's
// closed days. A day is final once it was read after its late window
// closed: final days are merged into one sum, so memory follows label sets,
// not label sets times days; days read earlier are kept apart and read again.
type monthCache struct {
	month     billing.Date      // its first day; zero before the first day is set
	final     closedDay         // sum of the final days
	finalDays uint64            // bit d set: day d of the month is in final
	pending   map[int]closedDay // day of month -> sums, not final yet
	seen      uint64            // bit d set: day d was seen with rows
	failed    uint64            // bit d set: day d's last read failed
	// latest is the last closed day stored: yesterday's cost, once
	// yesterday is in.
	latestDay  int
	latestCost dayCost
}

// closedDay is the sums of closed days; res is nil when top resources are
// off.
type closedDay struct {
	cost dayCost
	res  *resourceCosts
}

// forDay drops what does not belong before today in today's month: the
// previous month, and days not before today (the clock went back). It
// reports whether it started the month afresh.
func (c *monthCache) forDay(today billing.Date) bool {
	fresh := c.month != today.MonthStart() || c.finalDays>>today.Day != 0
	if fresh {
		*c = monthCache{month: today.MonthStart(), final: closedDay{cost: make(dayCost)}, pending: make(map[int]closedDay)}
	}
	for d := range c.pending {
		if d >= today.Day {
			delete(c.pending, d)
		}
	}
	if c.latestDay >= today.Day {
		c.latestDay, c.latestCost = 0, nil
	}
	return fresh
}

func (c *monthCache) isFinal(day int) bool { return c.finalDays&(1<<day) != 0 }

func (c *monthCache) has(day int) bool {
	_, pending := c.pending[day]
	return pending || c.isFinal(day)
}

// store keeps a closed day's costs; res is nil when top resources are off.
func (c *monthCache) store(day int, cost dayCost, res *resourceCosts, final bool) {
	c.failed &^= 1 << day
	if day >= c.latestDay {
		c.latestDay, c.latestCost = day, cost
	}
	if len(cost) > 0 {
		c.markSeen(day)
	}
	if !final {
		c.pending[day] = closedDay{cost: cost, res: res}
		return
	}
	delete(c.pending, day)
	c.final.cost.merge(cost)
	if res != nil {
		if c.final.res == nil {
			c.final.res = newResourceCosts(res.labels, res.limit, len(res.cost))
		}
		c.final.res.merge(res)
	}
	c.finalDays |= 1 << day
}

func (c *monthCache) markSeen(day int) { c.seen |= 1 << day }

func (c *monthCache) wasSeen(day int) bool { return c.seen&(1<<day) != 0 }

// days is the number of closed days held.
func (c *monthCache) days() int { return bits.OnesCount64(c.finalDays) + len(c.pending) }

// missing is the number of closed days before today not held at all: while
// it is above zero, month-to-date would be too low and is not published.
func (c *monthCache) missing(today billing.Date) int { return today.Day - 1 - c.days() }

// toRead lists the closed days before today that must be read: the missing
// ones first (month-to-date waits for them), then those not final.
func (c *monthCache) toRead(today billing.Date) []int {
	var missing, again []int
	for d := 1; d < today.Day; d++ {
		switch {
		case c.isFinal(d):
		case c.has(d):
			again = append(again, d)
		default:
			missing = append(missing, d)
		}
	}
	return append(missing, again...)
}

// closed returns the costs and the per-resource costs of every closed day
// held.
func (c *monthCache) closed() (costs []dayCost, res []*resourceCosts) {
	days := append([]closedDay{c.final}, slices.Collect(maps.Values(c.pending))...)
	for _, d := range days {
		costs = append(costs, d.cost)
		if d.res != nil {
			res = append(res, d.res)
		}
	}
	return costs, res
}

// yesterday returns the cost of the day before today, nil when it is not
// held (on the 1st it is in the previous month).
func (c *monthCache) yesterday(today billing.Date) dayCost {
	if c.latestDay == today.Day-1 && c.latestDay > 0 {
		return c.latestCost
	}
	return nil
}

// failedDays lists the days whose last read failed, in order.
func (c *monthCache) failedDays() []billing.Date {
	var out []billing.Date
	for d := 1; d < 32; d++ {
		if c.failed&(1<<d) != 0 {
			out = append(out, billing.Date{Year: c.month.Year, Month: c.month.Month, Day: d})
		}
	}
	return out
}
