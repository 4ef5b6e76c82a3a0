package collector

import (
	"context"
	"fmt"

	"github.com/go-kit/log/level"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// previousMonth is the cost of the month before today's, summed day by day
// in order, and complete once its last day is in.
type previousMonth struct {
	month   billing.Date // its last day, which names it
	cost    dayCost
	done    int     // days 1 to done are in cost
	lastDay dayCost // the last day's cost: yesterday on the 1st
}

func (p *previousMonth) complete() bool { return p.done == p.month.Day }

// previousStep does one unit of the previous month: a day the store holds,
// or a page of one it does not. The month is read once, after the current
// one is complete and after the late window of its last day has closed;
// its total is published when every day is in. It reports whether the
// round is over.
func (r *Refresher) previousStep(ctx context.Context) (over bool) {
	rd := r.round
	p := &r.previous
	lastDay := p.month
	monthStart := rd.day.MonthStart().Start(r.cfg.Location)
	if p.complete() || r.cfg.Now().Before(monthStart.Add(DefaultLateWindow)) {
		return true
	}
	day := billing.Date{Year: lastDay.Year, Month: lastDay.Month, Day: p.done + 1}
	if rd.read == nil {
		if cost, ok := r.loadFinal(day); ok {
			r.previousDay(cost)
			return false
		}
		r.startRead(day, false, nil) // only its total is served: no per-resource sums
	}
	c, err := rd.stepRead(ctx)
	switch {
	case c == nil:
		return false
	case err != nil:
		level.Warn(r.cfg.Logger).Log("msg", "reading a day of the previous month failed; its total waits for it", "day", day, "err", err)
		rd.errs = append(rd.errs, err)
		return true
	}
	r.saves.save(c.cost.day(day, nil, r.cfg.Now(), true))
	level.Debug(r.cfg.Logger).Log("msg", "previous month day read", "day", day)
	r.previousDay(c.cost)
	return false
}

// previousDay adds the next day of the previous month; the series change
// only when it is the last.
func (r *Refresher) previousDay(cost dayCost) {
	p := &r.previous
	p.cost.merge(cost)
	if p.done++; !p.complete() {
		r.publish(nil)
		return
	}
	p.lastDay = cost
	level.Info(r.cfg.Logger).Log("msg", "previous month complete", "month", fmt.Sprintf("%04d-%02d", p.month.Year, p.month.Month), "days", p.done)
	r.rebuild()
}

// previousMissing is the number of days of the previous month not read
// yet, or -1 when the previous month is not read.
func (r *Refresher) previousMissing() int {
	if !r.cfg.PreviousMonth || r.today.usage == nil {
		return -1
	}
	return r.previous.month.Day - r.previous.done
}

// loadFinal returns a final day from the store.
func (r *Refresher) loadFinal(d billing.Date) (dayCost, bool) {
	if r.cfg.Store == nil {
		return nil, false
	}
	sd, ok, err := r.cfg.Store.Load(d)
	if err != nil {
		level.Warn(r.cfg.Logger).Log("msg", "ignoring a stored day that cannot be trusted; reading it from the API again", "err", err)
	}
	if err != nil || !ok || !sd.Final {
		return nil, false
	}
	return costsOf(sd), true
}
