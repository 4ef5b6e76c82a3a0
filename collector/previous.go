package collector

import (
	"context"
	"fmt"
	"math/bits"

	"github.com/go-kit/log/level"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// previousStep does one unit of the previous month: a day the store holds,
// or a page of one it does not. The month is read once, after the current
// one is complete and after the late window of its last day has closed;
// its total is published when every day is in. It reports whether the
// round is over.
func (r *Refresher) previousStep(ctx context.Context) (over bool) {
	rd := r.round
	today := rd.day
	first := today.MonthStart().AddDays(-1).MonthStart()
	p := &r.previous
	if p.year != first.Year || p.month != first.Month {
		*p = previousMonth{year: first.Year, month: first.Month, cost: make(dayCost)}
	}
	monthStart := today.MonthStart().Start(r.cfg.Location)
	if p.complete || r.now().Before(monthStart.Add(r.cfg.LateWindow)) {
		return true
	}
	days := today.MonthStart().AddDays(-1).Day // the previous month's length
	d := 1
	for d <= days && p.read&(1<<d) != 0 {
		d++
	}
	if d > days {
		p.complete = true
		level.Info(r.logger).Log("msg", "previous month complete", "month", fmt.Sprintf("%04d-%02d", first.Year, first.Month), "days", days)
		r.rebuild()
		return true
	}
	day := billing.Date{Year: first.Year, Month: first.Month, Day: d}
	if rd.read == nil {
		if cost, ok := r.loadFinal(day); ok {
			r.previousDay(d, days, cost)
			return false
		}
		rd.read = r.startRead(day, false, nil) // only its total is served: no per-resource sums
	}
	done, err := rd.read.step(ctx)
	if !done || ctx.Err() != nil {
		return false
	}
	c := rd.read
	rd.read = nil
	if err != nil {
		level.Warn(r.logger).Log("msg", "reading a day of the previous month failed; its total waits for it", "day", day, "err", err)
		rd.errs = append(rd.errs, err)
		return true
	}
	r.saves.save(c.cost.day(day, nil, r.now(), true))
	level.Debug(r.logger).Log("msg", "previous month day read", "day", day)
	r.previousDay(d, days, c.cost)
	return false
}

// previousDay adds day d of the previous month, of days days.
func (r *Refresher) previousDay(d, days int, cost dayCost) {
	p := &r.previous
	p.cost.merge(cost)
	p.read |= 1 << d
	if d == days {
		p.lastDay = cost
	}
	r.publish(nil) // the snapshot changes only when the month is complete
}

// previousMissing is the number of days of the previous month not read
// yet, or -1 when the previous month is not read.
func (r *Refresher) previousMissing() int {
	if !r.cfg.PreviousMonth || r.today.usage == nil {
		return -1
	}
	first := r.today.day.MonthStart().AddDays(-1).MonthStart()
	days := r.today.day.MonthStart().AddDays(-1).Day
	if r.previous.year != first.Year || r.previous.month != first.Month {
		return days
	}
	return days - bits.OnesCount64(r.previous.read)
}

// loadFinal returns a final day from the store.
func (r *Refresher) loadFinal(d billing.Date) (dayCost, bool) {
	if r.cfg.Store == nil {
		return nil, false
	}
	sd, ok, err := r.cfg.Store.Load(d)
	if err != nil {
		level.Warn(r.logger).Log("msg", "ignoring a stored day that cannot be trusted; reading it from the API again", "err", err)
		return nil, false
	}
	if !ok || !sd.Final {
		return nil, false
	}
	return costsOf(sd), true
}
