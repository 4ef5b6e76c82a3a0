package collector

import (
	"context"
	"time"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// notReadyRetry is the longest wait between reads of today until one
// succeeds.
const notReadyRetry = time.Minute

// turn does the next unit of work, and reports false when there is none
// until today is due: today when due, else the next step of the closed-day
// round. Only the end of a round returns an error (its closed days'); a
// failed read of today is logged and published, and its retry scheduled.
func (r *Refresher) turn(ctx context.Context) (worked bool, err error) {
	r.awaitTrigger(ctx, 0)
	switch {
	case r.todayDue(r.cfg.Now()):
		_ = r.readToday(ctx)
		return true, nil
	case r.round != nil:
		return true, r.roundStep(ctx)
	}
	return false, nil
}

// todayDue reports whether today's read comes next: it was never read, it
// was asked for, the wait is over, or billing midnight has passed. During
// a round, the closed days first get their share since today's last read
// ended: at least one page, and as long as reading today took, so that a
// slow today does not leave the month one page per read; but no more than
// keeps today within half of MaxAge, so that it never expires.
func (r *Refresher) todayDue(now time.Time) bool {
	loc := r.cfg.Location
	switch {
	case r.asked || r.woken || r.todayStarted.IsZero():
		return true
	case billing.DateOf(now.In(loc)) != billing.DateOf(r.todayStarted.In(loc)):
		return true
	case r.nextWait(r.todayStarted, now) > 0:
		return false
	case r.round == nil:
		return true
	case r.round.sinceToday == 0:
		return false
	}
	took := r.todayEnded.Sub(r.todayStarted)
	return now.Sub(r.todayEnded) >= min(took, r.cfg.MaxAge/2-took)
}

// nextWait is how long to wait after a read of today that started at
// start: the rest of the interval, but no longer than until just after
// the midnight that ends start's billing day, so that "today" never
// describes yesterday for a whole interval.
func (r *Refresher) nextWait(start, now time.Time) time.Duration {
	interval := r.cfg.RefreshInterval
	if !r.state.Load().fresh(now) {
		// Nothing is served until a read succeeds (a DNS blip as the pod
		// starts, a failed first read of a new day): retry soon.
		interval = min(interval, notReadyRetry)
	}
	wait := interval - now.Sub(start)
	midnight := billing.DateOf(start.In(r.cfg.Location)).End(r.cfg.Location)
	return max(min(wait, midnight.Sub(now)+time.Second), 0)
}
