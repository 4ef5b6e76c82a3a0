package collector

import (
	"math/bits"
	"slices"
	"time"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector/store"
)

// monthCache holds the month-to-date contribution of the current month's
// closed days. A day is final once it was read after its late window
// closed: final days are merged into one sum, so memory follows label sets,
// not label sets times days; days read earlier are kept apart and read again.
type monthCache struct {
	year      int
	month     time.Month
	final     dayCost         // sum of the final days
	finalDays uint64          // bit d set: day d of the month is in final
	pending   map[int]dayCost // day of month -> cost, not final yet
	// The same per resource, when top resources are on.
	finalRes   *resourceCosts
	pendingRes map[int]*resourceCosts
	seen       uint64 // bit d set: day d was seen with rows
	failed     uint64 // bit d set: day d's last read failed
	// latest is the last closed day stored: yesterday's cost, once
	// yesterday is in.
	latestDay  int
	latestCost dayCost
}

// forDay drops what does not belong before today in today's month: the
// previous month, and days not before today (the clock went back). It
// reports whether it started the month afresh.
func (c *monthCache) forDay(today date) bool {
	fresh := false
	if c.year != today.year || c.month != today.month || c.finalDays>>today.day != 0 || c.final == nil {
		*c = monthCache{year: today.year, month: today.month, final: make(dayCost),
			pending: make(map[int]dayCost), pendingRes: make(map[int]*resourceCosts)}
		fresh = true
	}
	for d := range c.pending {
		if d >= today.day {
			delete(c.pending, d)
			delete(c.pendingRes, d)
		}
	}
	if c.latestDay >= today.day {
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
		c.pending[day] = cost
		if res != nil {
			c.pendingRes[day] = res
		}
		return
	}
	delete(c.pending, day)
	delete(c.pendingRes, day)
	c.final.merge(cost)
	if res != nil {
		if c.finalRes == nil {
			c.finalRes = newResourceCosts(res.limit, len(res.cost))
		}
		c.finalRes.merge(res)
	}
	c.finalDays |= 1 << day
}

func (c *monthCache) markSeen(day int) { c.seen |= 1 << day }

func (c *monthCache) wasSeen(day int) bool { return c.seen&(1<<day) != 0 }

// days is the number of closed days held.
func (c *monthCache) days() int { return bits.OnesCount64(c.finalDays) + len(c.pending) }

// missing is the number of closed days before today not held at all: while
// it is above zero, month-to-date would be too low and is not published.
func (c *monthCache) missing(today date) int { return today.day - 1 - c.days() }

// toRead lists the closed days before today that must be read: the missing
// ones first (month-to-date waits for them), then those not final.
func (c *monthCache) toRead(today date) []int {
	var missing, again []int
	for d := 1; d < today.day; d++ {
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

// closed returns the costs of every closed day held, for combine.
func (c *monthCache) closed() []dayCost {
	out := make([]dayCost, 0, 1+len(c.pending))
	out = append(out, c.final)
	for _, d := range c.pending {
		out = append(out, d)
	}
	return out
}

// yesterday returns the cost of the day before today, nil when it is not
// held (on the 1st it is in the previous month).
func (c *monthCache) yesterday(today date) dayCost {
	if c.latestDay == today.day-1 && c.latestDay > 0 {
		return c.latestCost
	}
	return nil
}

// closedResources returns the per-resource costs of the closed days held.
func (c *monthCache) closedResources() []*resourceCosts {
	out := make([]*resourceCosts, 0, 1+len(c.pendingRes))
	if c.finalRes != nil {
		out = append(out, c.finalRes)
	}
	for _, r := range c.pendingRes {
		out = append(out, r)
	}
	return out
}

// failedDays lists the days whose last read failed, in order.
func (c *monthCache) failedDays() []date {
	var out []date
	for d := 1; d < 32; d++ {
		if c.failed&(1<<d) != 0 {
			out = append(out, date{c.year, c.month, d})
		}
	}
	return out
}

// toStore converts a day's costs to the store's form, sorted so that the
// same sums always make the same file.
func toStore(d date, cost dayCost, res *resourceCosts, readAt time.Time, final bool) store.Day {
	out := store.Day{Date: d.String(), ReadAt: readAt.UTC(), Final: final, Costs: make([]store.Cost, 0, len(cost))}
	for k, v := range cost {
		out.Costs = append(out.Costs, store.Cost{VPCID: k.vpcID, VPCName: k.vpcName, Service: k.service,
			BillingGroup: k.group, Tag: k.tag, TotalPrice: v.sum + v.comp})
	}
	slices.SortFunc(out.Costs, func(a, b store.Cost) int {
		return compareLabelSets(labelSet{a.VPCID, a.VPCName, a.Service, a.BillingGroup, a.Tag},
			labelSet{b.VPCID, b.VPCName, b.Service, b.BillingGroup, b.Tag})
	})
	if res != nil {
		out.PerResource = true
		out.UntrackedResourceRows = res.dropped
		for k, v := range res.cost {
			out.Resources = append(out.Resources, store.ResourceCost{VPCID: k.labels.vpcID, VPCName: k.labels.vpcName,
				Service: k.labels.service, BillingGroup: k.labels.group, Tag: k.labels.tag,
				InfraID: k.id, Name: k.name, TotalPrice: v.sum + v.comp})
		}
		slices.SortFunc(out.Resources, func(a, b store.ResourceCost) int {
			return compareResourceKeys(resourceKeyFromStore(a), resourceKeyFromStore(b))
		})
	}
	return out
}

func resourceKeyFromStore(c store.ResourceCost) resourceKey {
	return resourceKey{labels: labelSet{c.VPCID, c.VPCName, c.Service, c.BillingGroup, c.Tag}, id: c.InfraID, name: c.Name}
}

// resourcesFromStore adds a stored day's per-resource costs to res.
func resourcesFromStore(day store.Day, res *resourceCosts) {
	for _, c := range day.Resources {
		res.add(resourceKeyFromStore(c), c.TotalPrice, 1)
	}
	res.dropped += day.UntrackedResourceRows
}

func fromStore(day store.Day) dayCost {
	out := make(dayCost, len(day.Costs))
	for _, c := range day.Costs {
		out.add(labelSet{c.VPCID, c.VPCName, c.Service, c.BillingGroup, c.Tag}, c.TotalPrice)
	}
	return out
}
